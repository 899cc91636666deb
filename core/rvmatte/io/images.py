"""Image sequences read with OpenImageIO: channels and layers picked, display window enforced."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import OpenImageIO as oiio

from ..errors import InputError, one_line
from .frame_layout import compare_layouts, layout_of
from .header import header_from_spec
from .sequence import SequencePattern
from .source import Plate, Source

DEFAULT_LAYER = "rgba"
_FLOAT_TYPES = (oiio.HALF, oiio.FLOAT, oiio.DOUBLE)
_COMPONENTS = {
    "R": ("R", "r", "red", "Red", "RED"),
    "G": ("G", "g", "green", "Green", "GREEN"),
    "B": ("B", "b", "blue", "Blue", "BLUE"),
}
_GREY = ("Y", "y", "L", "l", "I", "i", "grey", "gray", "luminance")
_ALPHA = ("A", "a", "alpha", "Alpha")


@dataclass(frozen=True)
class Layer:
    """Where one layer's colour lives: an EXR part (subimage) and 3 (RGB) or 1 (grey) channel indices."""

    name: str
    subimage: int
    indices: tuple[int, ...]


def _layer_name_of(channel: str, part_name: str) -> tuple[str, str]:
    layer, _, component = channel.rpartition(".")
    if not layer:
        layer = part_name
    if layer.lower() in ("rgba", "rgb"):
        layer = ""
    return layer, component


def _colour_indices(components: dict[str, int]) -> tuple[int, ...] | None:
    rgb = []
    for aliases in _COMPONENTS.values():
        index = next((components[a] for a in aliases if a in components), None)
        if index is None:
            break
        rgb.append(index)
    else:
        return tuple(rgb)
    grey = next((components[g] for g in _GREY if g in components), None)
    if grey is not None:
        return (grey,)
    non_alpha = [i for c, i in components.items() if c not in _ALPHA]
    if len(non_alpha) == 1:
        return (non_alpha[0],)
    if not non_alpha and len(components) == 1:
        return tuple(components.values())
    return None


def find_layers(inp: oiio.ImageInput) -> tuple[dict[str, Layer], tuple[str, ...]]:
    """Usable colour layers of an open file (``""`` = the unnamed/RGBA one) and all channel names."""
    specs = []
    subimage = 0
    while inp.seek_subimage(subimage, 0):
        specs.append(inp.spec())
        subimage += 1
    inp.geterror()  # seeking past the last subimage is how the count is found, not a failure
    inp.seek_subimage(0, 0)
    layers: dict[str, Layer] = {}
    channels: list[str] = []
    for index, spec in enumerate(specs):
        part_name = spec.get_string_attribute("name") if len(specs) > 1 else ""
        grouped: dict[str, dict[str, int]] = {}
        for channel_index, channel in enumerate(spec.channelnames):
            channels.append(channel if "." in channel or not part_name else f"{part_name}.{channel}")
            layer, component = _layer_name_of(channel, part_name)
            grouped.setdefault(layer, {})[component] = channel_index
        for layer, components in grouped.items():
            indices = _colour_indices(components)
            if indices is not None and layer not in layers:
                layers[layer] = Layer(layer, index, indices)
    return layers, tuple(channels)


def layer_names(layers: dict[str, Layer]) -> tuple[str, ...]:
    """Layer names for people: the unnamed layer shows as ``rgba``."""
    return tuple(DEFAULT_LAYER if name == "" else name for name in layers)


def pick_layer(layers: dict[str, Layer], wanted: str | None, path: str) -> Layer:
    """The layer to matte; InputError listing the layers present when ``wanted`` is absent."""
    listed = ", ".join(layer_names(layers)) or "none"
    if wanted is None:
        if "" in layers:
            return layers[""]
        if len(layers) == 1:
            return next(iter(layers.values()))
        raise InputError(f"{path} has no unnamed RGB layer; pick one with --layer ({listed})")
    if wanted in layers:
        return layers[wanted]
    if wanted.lower() in ("rgba", "rgb", "") and "" in layers:
        return layers[""]
    for name, layer in layers.items():
        if name.lower() == wanted.lower():
            return layer
    raise InputError(f"{path} has no layer '{wanted}'; layers present: {listed}")


def display_window_of(spec: oiio.ImageSpec) -> tuple[int, int, int, int]:
    return (spec.full_x, spec.full_y, spec.full_width, spec.full_height)


def reframe(pixels: np.ndarray, source: tuple, target: tuple) -> np.ndarray:
    """Pixels covering window ``source`` moved to window ``target`` (both ``(x, y, width, height)``):
    the overlap is copied, the rest of ``target`` is zero."""
    if tuple(source) == tuple(target):
        return pixels
    out = np.zeros((target[3], target[2], pixels.shape[2]), dtype=pixels.dtype)
    x0, y0 = max(source[0], target[0]), max(source[1], target[1])
    x1 = min(source[0] + source[2], target[0] + target[2])
    y1 = min(source[1] + source[3], target[1] + target[3])
    if x0 < x1 and y0 < y1:
        out[y0 - target[1] : y1 - target[1], x0 - target[0] : x1 - target[0]] = pixels[
            y0 - source[1] : y1 - source[1], x0 - source[0] : x1 - source[0]
        ]
    return out


_BYTE_TO_UNIT = np.float32(1.0 / 255.0)


def _is_8_bit(spec: oiio.ImageSpec, indices) -> bool:
    """Every chosen channel is stored as 8-bit integers (PNG, JPEG, 8-bit TIFF) and there is no alpha
    (OpenImageIO premultiplies by it, in the type it is asked for): read as bytes and converted to
    float here (OpenImageIO's float read spent 46 ms on a 1080p PNG, its byte read 33)."""
    return (spec.alpha_channel < 0 and all(spec.channelformat(i).basetype == oiio.UINT8 for i in indices)
            and spec.get_int_attribute("oiio:BitsPerSample", 8) == 8)


def fit_to_display(pixels: np.ndarray, spec: oiio.ImageSpec) -> np.ndarray:
    """Data-window pixels placed in the display window: padded with zeros or cropped."""
    return reframe(pixels, (spec.x, spec.y, spec.width, spec.height), display_window_of(spec))


class ImageSequenceSource(Source):
    """A numbered image sequence (or one still image) read through OpenImageIO."""

    kind = "images"

    def __init__(self, path: str, pattern: SequencePattern, layer: str | None = None):
        self.path = path
        self.pattern = pattern
        self.layer = layer
        self.name = pattern.name
        self.frames = pattern.frames_on_disk()
        if not self.frames:
            raise InputError(f"no frames found for {pattern.hashes}")
        first_path = pattern.path(self.frames[0])
        inp = self._open(self.frames[0], first_path)
        try:
            layers, self.channels = find_layers(inp)
            if not layers:
                raise InputError(
                    f"frame {self.frames[0]}: {first_path} has no colour channels ({', '.join(self.channels)})"
                )
            self.layers = layer_names(layers)
            chosen = pick_layer(layers, layer, first_path)
            inp.seek_subimage(chosen.subimage, 0)
            spec = inp.spec()
            if spec.deep:
                raise InputError(f"frame {self.frames[0]}: {first_path} is a deep image, which is not supported")
            self.file_format = inp.format_name()
            self.display_window = display_window_of(spec)
            self.width, self.height = spec.full_width, spec.full_height
            self.pixel_aspect = float(spec.get_float_attribute("PixelAspectRatio", 1.0) or 1.0)
            self.is_float = spec.channelformat(chosen.indices[0]).basetype in _FLOAT_TYPES
            self.fps = _fps_of(spec)
            self.colorspace_hint = colour_tag(spec)
            self._layout = layout_of(inp, spec, chosen.indices)
            self._warned: set[str] = set()
        finally:
            inp.close()

    def frame_path(self, frame: int) -> str:
        return self.pattern.path(frame)

    def read(self, frames: Iterable[int]) -> Iterator[Plate]:
        for frame in frames:
            yield self.read_frame(frame)

    def read_frame(self, frame: int) -> Plate:
        path = self.pattern.path(frame)
        inp = self._open(frame, path)
        try:
            layers, _ = find_layers(inp)
            try:
                chosen = pick_layer(layers, self.layer, path)
            except InputError as error:
                raise InputError(f"frame {frame}: {error}") from None
            if not inp.seek_subimage(chosen.subimage, 0):
                raise InputError(f"frame {frame}: cannot read {path} ({one_line(inp.geterror())})")
            spec = inp.spec()
            if display_window_of(spec) != self.display_window:
                raise InputError(
                    f"frame {frame}: display window {_describe_window(display_window_of(spec))} differs from "
                    f"the shot's {_describe_window(self.display_window)}: {path}"
                )
            warning = self._check_layout(frame, path, inp, spec, chosen)
            low, high = min(chosen.indices), max(chosen.indices) + 1
            bytes_in = _is_8_bit(spec, chosen.indices)
            pixels = inp.read_image(chosen.subimage, 0, low, high, oiio.UINT8 if bytes_in else oiio.FLOAT)
            if pixels is None or inp.has_error:
                raise InputError(f"frame {frame}: cannot read {path} ({one_line(inp.geterror())})")
            header = header_from_spec(spec)
        finally:
            inp.close()
        if pixels.ndim == 2:
            pixels = pixels[:, :, np.newaxis]
        elif pixels.ndim == 4:
            pixels = pixels[0]
        in_order = list(chosen.indices) == list(range(low, high))
        picked = pixels if in_order else pixels[:, :, [i - low for i in chosen.indices]]
        if picked.shape[2] == 1:
            picked = np.repeat(picked, 3, axis=2)
        rgb = fit_to_display(picked, spec)
        if bytes_in:     # OpenImageIO's own conversion, v * (1/255) in float32: the same bits, 9 ms less at 1080p
            rgb = np.multiply(rgb, _BYTE_TO_UNIT, dtype=np.float32, order="C")
        else:
            rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        return Plate(frame=frame, rgb=rgb, header=header, path=path, warning=warning)

    def _check_layout(self, frame, path, inp, spec, chosen) -> str | None:
        """Raise for a frame that cannot be read like the first; a warning (once per kind) for a
        harmless difference."""
        found = compare_layouts(self._layout, self.frames[0], layout_of(inp, spec, chosen.indices), frame, path)
        if found is None or found[0] in self._warned:
            return None
        self._warned.add(found[0])
        return found[1]

    @staticmethod
    def _open(frame: int, path: str) -> oiio.ImageInput:
        from rvmatte.io.probe import check_frame_file

        check_frame_file(frame, path)
        inp = oiio.ImageInput.open(path)
        if inp is None:
            reason = one_line(oiio.geterror())
            if not os.path.exists(path):
                raise InputError(f"frame {frame} is missing: {path}")
            raise InputError(f"frame {frame}: cannot read {path} ({reason})")
        return inp


_PRIMARIES = {
    "lin_ap0_scene": (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767),
    "lin_ap1_scene": (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767),
    "lin_rec709_scene": (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290),
}


def colour_tag(spec: oiio.ImageSpec) -> str | None:
    """The colour space a file declares: an explicit tag, else (linear EXR) the ACES container
    flag or chromaticities of AP0, AP1 or Rec.709 primaries, as interop IDs."""
    tag = spec.get_string_attribute("oiio:ColorSpace") or spec.get_string_attribute("colorInteropID")
    if tag:
        return tag
    if spec.get_int_attribute("acesImageContainerFlag", 0) == 1:
        return "lin_ap0_scene"
    chromaticities = spec.getattribute("chromaticities")
    if chromaticities is not None and len(chromaticities) == 8:
        for interop_id, primaries in _PRIMARIES.items():
            if np.allclose(chromaticities, primaries, atol=2e-3):
                return interop_id
    return None


def _describe_window(window: tuple[int, int, int, int]) -> str:
    x, y, width, height = window
    return f"{width}x{height}" + (f" at ({x},{y})" if x or y else "")


def _fps_of(spec: oiio.ImageSpec) -> float | None:
    param = spec.getattribute("FramesPerSecond")
    if param is None:
        return None
    if isinstance(param, tuple) and len(param) == 2 and param[1]:
        return param[0] / param[1]
    try:
        return float(param)
    except (TypeError, ValueError):
        return None
