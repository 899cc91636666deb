"""Every frame of a sequence is checked for what the first frame was checked for.

A shot's first frame fixes what the network is fed: a flat (not deep) image of one file
type, whose chosen layer has the same colour channels stored as float (scene-linear) or as
integers (display-encoded). A later frame that differs would be read as garbage, or in
another colour interpretation, and the recurrent state would carry the damage into every
frame after it; so such a change is an error naming the frame. Changes that read back the
same (half ↔ float, 8 ↔ 16-bit integers, channels other than the colour ones) are accepted
with a warning, once per kind of change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import OpenImageIO as oiio

from ..errors import InputError

_FLOAT_TYPES = (oiio.HALF, oiio.FLOAT, oiio.DOUBLE)


@dataclass(frozen=True)
class FrameLayout:
    deep: bool
    file_format: str
    colour_channels: Tuple[str, ...]
    colour_types: Tuple[str, ...]
    is_float: bool
    other_channels: Tuple[str, ...]


def layout_of(inp: oiio.ImageInput, spec: oiio.ImageSpec, indices: Tuple[int, ...]) -> FrameLayout:
    names = tuple(spec.channelnames)
    types = tuple(str(spec.channelformat(i)) for i in indices)
    return FrameLayout(
        deep=bool(spec.deep),
        file_format=inp.format_name(),
        colour_channels=tuple(names[i] for i in indices),
        colour_types=types,
        is_float=spec.channelformat(indices[0]).basetype in _FLOAT_TYPES,
        other_channels=tuple(n for i, n in enumerate(names) if i not in indices),
    )


def compare_layouts(first: FrameLayout, first_frame: int, this: FrameLayout, frame: int,
                    path: str) -> Optional[Tuple[str, str]]:
    """InputError when frame ``frame`` cannot be read like the first; (kind, warning) when it
    differs harmlessly; None when it is laid out the same."""
    where = f"frame {frame}: {path}"
    if this.deep:
        raise InputError(f"{where} is a deep image in a flat sequence (frame {first_frame} is flat): "
                         f"deep images are not supported")
    if this.file_format != first.file_format:
        raise InputError(f"{where} is a {this.file_format} file, frame {first_frame} is {first.file_format}: "
                         f"a sequence must keep one file type")
    if this.colour_channels != first.colour_channels:
        raise InputError(f"{where} has colour channels {','.join(this.colour_channels)}, frame {first_frame} "
                         f"has {','.join(first.colour_channels)}")
    if this.is_float != first.is_float:
        kinds = {True: "float (scene-linear)", False: "integer (display-encoded)"}
        raise InputError(f"{where} stores {kinds[this.is_float]} colour, frame {first_frame} "
                         f"{kinds[first.is_float]}: the colour would be read in another space")
    if this.colour_types != first.colour_types:
        return ("types", f"{where} stores colour as {this.colour_types[0]}, frame {first_frame} as "
                         f"{first.colour_types[0]}: read the same way (harmless); later frames like it "
                         f"are not reported")
    if this.other_channels != first.other_channels:
        return ("channels", f"{where} has other channels ({','.join(this.other_channels) or 'none'}) than "
                            f"frame {first_frame} ({','.join(first.other_channels) or 'none'}): only the colour "
                            f"channels are read (harmless); later frames like it are not reported")
    return None
