"""Tiny shots for the fine-tune tests: 8 frames of dev02 at 128x72 (PNG) and their true alpha;
one with a planted "held object" the base network gets wrong."""
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from shots import DEV02

SMALL = (128, 72)


def _resized(path: Path, channels: int, size=SMALL) -> np.ndarray:
    buf = oiio.ImageBuf(str(path))
    small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, size[0], 0, size[1], 0, 1, 0, buf.nchannels))
    return np.ascontiguousarray(small.get_pixels(oiio.FLOAT)[:, :, :channels])


def write_png(path: Path, pixels: np.ndarray, channels=None) -> None:
    pixels = np.atleast_3d(pixels)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], oiio.UINT8)
    if channels:
        spec.channelnames = tuple(channels)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()


def held_object(frame_index: int, size=SMALL) -> np.ndarray:
    """Where the planted "held object" is in frame ``frame_index``: a bar by the man's shoulder
    that drifts a pixel a frame (bool HxW)."""
    width, height = size
    mask = np.zeros((height, width), bool)
    x0 = int(0.18 * width) + frame_index
    y0 = int(0.45 * height)
    mask[y0:y0 + int(0.3 * height), x0:x0 + int(0.12 * width)] = True
    return mask


OBJECT_COLOUR = (0.95, 0.1, 0.85)


def write_held_object_shot(folder: Path, frames: int = 8, size=SMALL):
    """dev02 with a magenta bar the man "holds" (the base network does not matte it as him):
    ``plate.####.png`` and the truth ``{frame: alpha}`` where the bar is foreground (alpha 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(frames):
        rgb = _resized(DEV02 / "com" / f"{i:04d}.png", 3, size)
        alpha = np.round(_resized(DEV02 / "pha" / f"{i:04d}.png", 1, size)[:, :, 0] * 255) / 255
        bar = held_object(i, size)
        rgb[bar] = OBJECT_COLOUR
        alpha = np.where(bar, 1.0, alpha).astype(np.float32)
        write_png(folder / f"plate.{i + 1:04d}.png", rgb)
        truth[i + 1] = alpha
    return str(folder / "plate.####.png"), truth


def write_anamorphic_shot(folder: Path, frames: int = 8):
    """The held-object shot squeezed 2:1 (every other column: 64x72 stored, pixel aspect 2) as
    linear EXRs ``plate.####.exr``; returns (pattern, {frame: truth at the stored size})."""
    from shots import srgb_to_linear, write_exr

    square, truth = write_held_object_shot(folder / "square", frames)
    squeezed = {}
    for frame in truth:
        rgb = _resized(Path(square.replace("####", f"{frame:04d}")), 3, SMALL)
        write_exr(folder / f"plate.{frame:04d}.exr", srgb_to_linear(rgb[:, ::2]), pixel_aspect=2.0)
        squeezed[frame] = np.ascontiguousarray(truth[frame][:, ::2])
    return str(folder / "plate.####.exr"), squeezed


def model_inputs(pattern: str):
    """{frame: [3,H,W] model input} of every frame, converted as rvmatte run converts them."""
    import torch

    from rvmatte.io import open_input
    from rvmatte.io.colour import ColourPipeline, default_input_colorspace

    source = open_input(pattern)
    colour = ColourPipeline(default_input_colorspace(source)[0])
    out = {}
    for plate in source.read(source.frames):
        rgb = colour.to_model(plate.rgb) if source.is_float else plate.rgb
        out[plate.frame] = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)
    return out


def errors_on_other_frames(model, data, truth, keyframes, region):
    """(MAD on the frames of ``truth`` that are not keyframes, MAD inside ``region(frame)`` there):
    the shot run from an empty state as one clip through the training forward, at the shot's ratio
    and pixel aspect."""
    import torch

    from rvmatte.train.finetune import forward_clip

    frames = sorted(truth)
    inputs = model_inputs(data.source.path)
    clip = torch.stack([inputs[f] for f in frames])
    with torch.no_grad():
        _, pha = forward_clip(model, clip[None], data.ratio, pixel_aspect=data.pixel_aspect)
    others = [f for f in frames if f not in keyframes]
    diff = {f: np.abs(pha[0, frames.index(f), 0].numpy() - truth[f]) for f in others}
    return (float(np.mean([d.mean() for d in diff.values()])),
            float(np.mean([diff[f][region(f)].mean() for f in others])))
