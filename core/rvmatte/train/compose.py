"""Training clips composited on the fly, with the paper's augmentations (section 4.1).

Everything random is drawn from a ``numpy.random.Generator`` the caller seeds from
(run seed, step, sample index), so a resumed or a distributed run builds exactly the
clip an uninterrupted single-process run would have built at that step.

  temporal   which source frames make up the T frames: played backwards, faster or slower,
             with pauses (a frame held for a few frames)
  motion     a per-clip affine move (scale, rotation, shift) eased from a start to an end pose,
             drawn independently for the foreground and for the background
  resolution h and w drawn independently in the stage's range, per clip
  colour     brightness, contrast, saturation and hue jitter, per clip, foreground and
             background independently
  blur, noise occasional Gaussian blur of the foreground (with its alpha) or the background,
             and sensor noise on the composite
"""
from __future__ import annotations

import math
from typing import List, Tuple

import cv2
import numpy as np


def frame_indices(rng: np.random.Generator, available: int, length: int) -> List[int]:
    """``length`` indices into a clip of ``available`` frames: a speed in 0.5..2x, maybe
    reversed, maybe with a pause, always inside the clip."""
    speed = float(rng.uniform(0.5, 2.0)) if rng.random() < 0.5 else 1.0
    span = (length - 1) * speed
    start = float(rng.uniform(0, max(available - 1 - span, 0)))
    idx = [min(int(round(start + i * speed)), available - 1) for i in range(length)]
    if length > 2 and rng.random() < 0.2:
        at, hold = int(rng.integers(1, length)), int(rng.integers(1, max(2, length // 3) + 1))
        idx = idx[:at] + [idx[at - 1]] * hold + idx[at:]
        idx = idx[:length]
    if rng.random() < 0.5:
        idx.reverse()
    return idx


def _ease(t: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * t)


def motion(rng: np.random.Generator, length: int, width: int, height: int, strength: float = 1.0) -> List[np.ndarray]:
    """One 2x3 affine matrix per frame, eased from a start pose to an end pose."""
    def pose():
        return (1.0 + rng.uniform(-0.15, 0.15) * strength, rng.uniform(-8, 8) * strength,
                rng.uniform(-0.1, 0.1) * strength * width, rng.uniform(-0.1, 0.1) * strength * height)

    a, b = pose(), (pose() if rng.random() < 0.7 else None)
    b = b or a
    out = []
    for i in range(length):
        t = _ease(i / (length - 1)) if length > 1 else 0.0
        scale, angle, dx, dy = (x + (y - x) * t for x, y in zip(a, b))
        m = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
        m[:, 2] += (dx, dy)
        out.append(m)
    return out


def _warp(frames: np.ndarray, matrices: List[np.ndarray], border=cv2.BORDER_REFLECT) -> np.ndarray:
    h, w = frames.shape[1:3]
    return np.stack([np.atleast_3d(cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=border))
                     for f, m in zip(frames, matrices)])


def _resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.stack([np.atleast_3d(cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA)) for f in frames])


def colour_jitter(rng: np.random.Generator, frames: np.ndarray) -> np.ndarray:
    """Brightness, contrast, saturation and hue, the same for every frame of the clip."""
    brightness, contrast = rng.uniform(-0.1, 0.1), rng.uniform(0.8, 1.2)
    saturation, hue = rng.uniform(0.7, 1.3), rng.uniform(-10, 10)
    out = (frames - 0.5) * contrast + 0.5 + brightness
    grey = out.mean(axis=-1, keepdims=True)
    out = np.clip(grey + (out - grey) * saturation, 0, 1).astype(np.float32)
    if abs(hue) > 0.5:
        hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in out])
        hsv[..., 0] = (hsv[..., 0] + hue) % 360
        out = np.stack([cv2.cvtColor(f, cv2.COLOR_HSV2RGB) for f in hsv])
    return np.clip(out, 0, 1).astype(np.float32)


def _blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([np.atleast_3d(cv2.GaussianBlur(f, (0, 0), sigma)) for f in frames])


def draw_size(rng: np.random.Generator, size: Tuple[int, int]) -> Tuple[int, int]:
    """(h, w), each drawn independently in ``size`` (min, max)."""
    return int(rng.integers(size[0], size[1] + 1)), int(rng.integers(size[0], size[1] + 1))


def composite_clip(rng: np.random.Generator, fgr: np.ndarray, pha: np.ndarray, bgr: np.ndarray,
                   hw: Tuple[int, int], augment: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A training clip: (src, true fgr, true alpha), (T, h, w, C) float32 at ``hw`` = (h, w).
    ``fgr``/``pha``/``bgr`` are the T source frames already picked."""
    length = fgr.shape[0]
    h, w = hw
    fgr, pha, bgr = _resize(fgr, w, h), _resize(pha, w, h), _resize(bgr, w, h)
    if augment:
        fg_motion = motion(rng, length, w, h)
        fgr, pha = _warp(fgr, fg_motion), _warp(pha, fg_motion, cv2.BORDER_CONSTANT)
        bgr = _warp(bgr, motion(rng, length, w, h, strength=0.5))
        fgr, bgr = colour_jitter(rng, fgr), colour_jitter(rng, bgr)
        if rng.random() < 0.1:
            sigma = float(rng.uniform(0.5, 2.0))
            fgr, pha = _blur(fgr, sigma), _blur(pha, sigma)
        if rng.random() < 0.1:
            bgr = _blur(bgr, float(rng.uniform(0.5, 3.0)))
    pha = np.clip(pha, 0, 1)
    src = fgr * pha + bgr * (1 - pha)
    if augment and rng.random() < 0.3:
        src = src + rng.normal(0, rng.uniform(0.005, 0.03), src.shape).astype(np.float32)
    return np.clip(src, 0, 1).astype(np.float32), fgr.astype(np.float32), pha.astype(np.float32)


def segmentation_clip(rng: np.random.Generator, images: np.ndarray, masks: np.ndarray,
                      hw: Tuple[int, int], augment: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """A segmentation clip (T, h, w, 3) and its mask (T, h, w, 1), the same motion for both."""
    length = images.shape[0]
    h, w = hw
    images, masks = _resize(images, w, h), _resize(masks, w, h)
    if augment:
        m = motion(rng, length, w, h)
        images, masks = colour_jitter(rng, _warp(images, m)), _warp(masks, m, cv2.BORDER_CONSTANT)
    return images.astype(np.float32), (masks > 0.5).astype(np.float32)
