"""Two-person composites with ground truth per person, made from the shared foreground layers.

Each person is a still layer (its estimated foreground colour and alpha, cropped
to its box and scaled to ``scale`` × the frame height) slid along a path over a
textured background; person 1 is in front. Ground truth: person 1's alpha as is,
person 2's alpha × (1 − person 1's). Their sum is the composite's alpha.

Kinds: ``apart`` (never closer than a third of the frame), ``touching`` (one
shared region in 14 of 20 frames at 512x288, up to 13% of person 2 behind person 1), ``crossing`` (person 1 walks in front of
person 2, who is wider, 8 px a frame at 512 wide, from his left edge past his middle: partial
overlap in every frame, never fully hidden); ``three`` (``touching`` plus a third person at the
far left: person 1's layer mirrored, its colour channels rotated, at 0.7 of its height).
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Dict, List

import numpy as np
import OpenImageIO as oiio

from paths import DATA

LAYERS = ("p_514ca06a", "p_bd6af989")        # person 2 is the first, mirrored; person 1 the second


def _read(path):
    buf = oiio.ImageBuf(str(path))
    return buf


@lru_cache(maxsize=8)
def layer(name: str, height: int, mirror: bool = False):
    """(colour HxWx3 in 0..1 as stored, alpha HxW) of a foreground layer cropped to its box."""
    folder = DATA / "assets" / "foreground_layers" / name
    fgr = oiio.ImageBufAlgo.channels(_read(folder / "fgr.png"), (0, 1, 2))
    pha = oiio.ImageBufAlgo.channels(_read(folder / "pha.png"), (0,))
    alpha_full = pha.get_pixels(oiio.FLOAT)[:, :, 0]
    ys, xs = np.nonzero(alpha_full > 0.01)
    roi = oiio.ROI(int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1)
    scale = height / (roi.yend - roi.ybegin)
    width = max(int(round((roi.xend - roi.xbegin) * scale)), 1)
    out = oiio.ROI(0, width, 0, height, 0, 1, 0, 3)
    colour = oiio.ImageBufAlgo.resize(oiio.ImageBufAlgo.cut(fgr, roi), roi=out).get_pixels(oiio.FLOAT)
    out_a = oiio.ROI(0, width, 0, height, 0, 1, 0, 1)
    alpha = oiio.ImageBufAlgo.resize(oiio.ImageBufAlgo.cut(pha, roi), roi=out_a).get_pixels(oiio.FLOAT)[:, :, 0]
    if mirror:
        colour, alpha = colour[:, ::-1], alpha[:, ::-1]
    return np.ascontiguousarray(colour, np.float32), np.clip(np.ascontiguousarray(alpha, np.float32), 0, 1)


def background(width: int, height: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.15, 0.85, (height // 16 + 2, width // 16 + 2, 3)).astype(np.float32)
    buf = oiio.ImageBuf(coarse)
    big = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, width, 0, height, 0, 1, 0, 3)).get_pixels(oiio.FLOAT)
    fine = rng.uniform(-0.06, 0.06, (height, width, 1)).astype(np.float32)
    return np.clip(big + fine, 0, 1)


def _paste(canvas_h, canvas_w, colour, alpha, left):
    """The layer placed with its left edge at ``left`` and its bottom on the frame's bottom."""
    c = np.zeros((canvas_h, canvas_w, 3), np.float32)
    a = np.zeros((canvas_h, canvas_w), np.float32)
    h, w = alpha.shape
    top = canvas_h - h
    x0, x1 = max(left, 0), min(left + w, canvas_w)
    if x1 > x0:
        c[top:, x0:x1] = colour[:, x0 - left:x1 - left]
        a[top:, x0:x1] = alpha[:, x0 - left:x1 - left]
    return c, a


def paths_for(kind: str, frames: int, width: int, widths) -> List[tuple]:
    """Left edges (person 1, person 2) per frame."""
    w1, w2 = widths
    out = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        if kind == "apart":
            out.append((int(0.05 * width + 10 * t), int(width - w2 - 0.05 * width - 10 * t)))
        elif kind == "touching":
            gap = int(round(100 * abs(2 * t - 1) - 110))     # negative: the two overlap (one region)
            centre = width // 2
            out.append((centre - w1 - gap // 2 - 4, centre + (gap - gap // 2) - 4))
        elif kind == "crossing":                           # the narrower person 1 walks across person 2
            left2 = int((width - w2) / 2 + 8 * t)
            out.append((int(left2 - w1 + 0.04 * width + i * 8 * width / 512), left2))
        else:
            raise ValueError(kind)
    return out


def make_shot(folder: str, kind: str, width: int = 512, height: int = 288, frames: int = 20,
              scale: float = 0.8) -> Dict[str, object]:
    """Write ``com/shot.####.png`` (plate), ``alpha/shot.####.exr`` (the matte of both) and
    ``truth/personK.####.exr``; returns their patterns and the per-frame truth arrays."""
    people = [layer(LAYERS[1], int(height * scale)),
              layer(LAYERS[0], int(height * scale * 0.95), mirror=True)]      # a little further back
    if kind == "three":                       # person 3: person 1's layer mirrored, recoloured, further back
        colour3, alpha3 = layer(LAYERS[1], int(height * scale * 0.7), mirror=True)
        people.append((np.ascontiguousarray(colour3[:, :, [2, 0, 1]]), alpha3))
    bg = background(width, height)
    lefts = paths_for("touching" if kind == "three" else kind, frames, width,
                      (people[0][1].shape[1], people[1][1].shape[1]))
    if kind == "three":
        lefts = [(l1, l2, int(0.01 * width + 2 * i)) for i, (l1, l2) in enumerate(lefts)]
    for sub in ("com", "alpha", "truth"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    truth = {}
    for index, positions in enumerate(lefts):
        frame = index + 1
        placed = [_paste(height, width, colour, alpha, left + ((index % 3) - 1 if k == 1 else 0))
                  for k, ((colour, alpha), left) in enumerate(zip(people, positions))]
        com = bg
        for c, a in reversed(placed):                                   # back to front
            com = c * a[:, :, None] + com * (1 - a[:, :, None])
        hidden = np.ones((height, width), np.float32)
        truths = []
        for _, a in placed:                                             # front to back
            truths.append(a * hidden)
            hidden = hidden * (1 - a)
        truth[frame] = tuple(truths)
        _write(os.path.join(folder, "com", f"shot.{frame:04d}.png"), com, oiio.UINT8)
        _write(os.path.join(folder, "alpha", f"shot.{frame:04d}.exr"), sum(truths)[:, :, None], oiio.FLOAT, ("A",))
        for k, t in enumerate(truths, start=1):
            _write(os.path.join(folder, "truth", f"person{k}.{frame:04d}.exr"), t[:, :, None], oiio.FLOAT, ("A",))
    return {"plate": os.path.join(folder, "com", "shot.####.png"),
            "alpha": os.path.join(folder, "alpha", "shot.####.exr"),
            "truth": [os.path.join(folder, "truth", f"person{k}.####.exr") for k in range(1, len(people) + 1)],
            "arrays": truth, "frames": frames, "lefts": lefts}


def write_mask(path: str, mask: np.ndarray) -> None:
    _write(path, mask.astype(np.float32)[:, :, None], oiio.UINT8, ("Y",))


def _write(path, pixels, fmt, channels=None):
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], fmt)
    if channels:
        spec.channelnames = channels
    out = oiio.ImageOutput.create(path)
    out.open(path, spec)
    out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()


def rough_mask(truth: np.ndarray, grow: int = 6) -> np.ndarray:
    """A paint blob: the person's box, grown a little (the mask selects, it need not fit)."""
    ys, xs = np.nonzero(truth > 0.5)
    mask = np.zeros(truth.shape, bool)
    mask[max(ys.min() - grow, 0):ys.max() + grow, max(xs.min() - grow, 0):xs.max() + grow] = True
    return mask


def blob_mask(truth: np.ndarray) -> np.ndarray:
    """A rough roto: where the person is clearly opaque, no closer to their edge."""
    return truth > 0.9
