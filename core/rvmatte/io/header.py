"""Frame metadata carried from an input file into its outputs.

A header is a plain dict so the engine can pass it along untouched::

    {"display_window": (x, y, width, height),
     "data_window": (x, y, width, height),
     "pixel_aspect": 1.0,
     "attributes": {name: (oiio type name, value)}}   # timecode, fps, owner, custom keys...

Only metadata that stays true of a matte of the frame is kept: compression,
channel layout, pixel format, colour space and file-format internals are dropped
because the writer sets its own, and so are ``rvmatte/*`` keys of an earlier run.
"""

from __future__ import annotations

import OpenImageIO as oiio

_DROPPED_NAMES = frozenset(
    {
        "compression",
        "planarconfig",
        "Orientation",
        "ICCProfile",
        "chromaticities",
        "colorInteropID",
        "name",
        "type",
        "view",
        "multiView",
        "version",
        "chunkCount",
        "BitsPerSample",
        "dataWindow",
        "displayWindow",
        "channels",
        "acesImageContainerFlag",  # promises an uncompressed ACES container; our passes are not one
    }
)
_DROPPED_PREFIXES = ("oiio:", "openexr:", "tiff:", "png:", "jpeg:", "dpx:", "cineon:", "targa:", "bmp:", "heif:", "rvmatte/")
_MAX_ARRAY_LENGTH = 64


def header_from_spec(spec: oiio.ImageSpec) -> dict:
    """The header of one image or EXR part, as OpenImageIO read it."""
    attributes = {}
    for param in spec.extra_attribs:
        if _is_carried(param.name, param.type):
            attributes[param.name] = (str(param.type), param.value)
    return {
        "display_window": (spec.full_x, spec.full_y, spec.full_width, spec.full_height),
        "data_window": (spec.x, spec.y, spec.width, spec.height),
        "pixel_aspect": float(spec.get_float_attribute("PixelAspectRatio", 1.0) or 1.0),
        "attributes": attributes,
    }


def plain_header(width: int, height: int, pixel_aspect: float = 1.0, attributes: dict | None = None) -> dict:
    """A header for inputs with no windows of their own (movies, PNG)."""
    return {
        "display_window": (0, 0, width, height),
        "data_window": (0, 0, width, height),
        "pixel_aspect": float(pixel_aspect),
        "attributes": dict(attributes or {}),
    }


def apply_attributes(spec: oiio.ImageSpec, attributes: dict) -> None:
    """Set header attributes on a spec. Values may be ``(type name, value)`` pairs or plain
    str/int/float values."""
    for name, entry in attributes.items():
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
            type_name, value = entry
            try:
                spec.attribute(name, oiio.TypeDesc(type_name), value)
            except (TypeError, ValueError, RuntimeError):
                continue
        elif isinstance(entry, bool):
            spec.attribute(name, int(entry))
        elif isinstance(entry, (str, int, float)):
            spec.attribute(name, entry)
        else:
            spec.attribute(name, str(entry))


def _is_carried(name: str, type_desc: oiio.TypeDesc) -> bool:
    if name in _DROPPED_NAMES or name.startswith(_DROPPED_PREFIXES):
        return False
    return type_desc.arraylen <= _MAX_ARRAY_LENGTH
