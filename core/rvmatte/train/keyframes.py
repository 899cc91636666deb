"""Sparse keyframe-alpha sequences: a few hand-corrected mattes of a shot.

Only some frame numbers are present (a roto or paint fix exported for frames
1012, 1040 …). The matte of a file is its ``A`` channel if it has one, else its
only channel, else R = G = B (a grey image saved as colour); anything else — a
colour image — is an error naming the file. Every keyframe must have the shot's
size and be one of the shot's frames.
"""
from __future__ import annotations

import hashlib
import os
from typing import Dict, List

import numpy as np
import OpenImageIO as oiio

from rvmatte.errors import InputError, one_line
from rvmatte.io.images import display_window_of, fit_to_display
from rvmatte.io.sequence import find_sequence
from rvmatte_hostkit.sparse import SparseSequence


class Keyframes:
    """The keyframes of ``pattern``: ``frames`` (sorted), ``alpha[frame]`` (float32 HxW in 0..1)
    and ``sha256[frame]`` (of the file's bytes)."""

    def __init__(self, pattern: str, shot_frames: List[int], width: int, height: int):
        self.path = os.fspath(pattern)
        try:
            seq = find_sequence(self.path)
        except InputError as error:
            raise InputError(f"--keyframes: {error}") from None
        self.hashes = seq.hashes
        found = SparseSequence.scan(seq)
        if not found:
            raise InputError(f"--keyframes: no keyframes found for {seq.hashes}")
        present = set(shot_frames)
        self.frames: List[int] = list(found.frames)
        self.alpha: Dict[int, np.ndarray] = {}
        self.sha256: Dict[int, str] = {}
        for frame in self.frames:
            path = seq.path(frame)
            if frame not in present:
                raise InputError(f"--keyframes: {path}: frame {frame} is not a frame of the shot "
                                 f"({shot_frames[0]}-{shot_frames[-1]})")
            self.alpha[frame] = read_keyframe(path, width, height)
            with open(path, "rb") as stream:
                self.sha256[frame] = hashlib.sha256(stream.read()).hexdigest()


def read_keyframe(path: str, width: int, height: int) -> np.ndarray:
    """One keyframe's matte as float32 (H, W) in 0..1, by the channel rule of the module."""
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"--keyframes: cannot read {path} ({one_line(oiio.geterror())})")
    try:
        spec = inp.spec()
        pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
        if pixels is None or inp.has_error:
            raise InputError(f"--keyframes: cannot read {path} ({one_line(inp.geterror())})")
    finally:
        inp.close()
    _, _, w, h = display_window_of(spec)
    if (w, h) != (width, height):
        raise InputError(f"--keyframes: {path} is {w}x{h}, the shot is {width}x{height}")
    pixels = fit_to_display(np.asarray(pixels, np.float32).reshape(spec.height, spec.width, spec.nchannels), spec)
    names = list(spec.channelnames)
    if "A" in names:
        matte = pixels[:, :, names.index("A")]
    elif spec.nchannels == 1:
        matte = pixels[:, :, 0]
    elif spec.nchannels == 3 and np.array_equal(pixels[:, :, 0], pixels[:, :, 1]) \
            and np.array_equal(pixels[:, :, 0], pixels[:, :, 2]):
        matte = pixels[:, :, 0]
    else:
        raise InputError(f"--keyframes: {path} is not a matte: it has channels {','.join(names)} with colour "
                         f"(give an A channel, one channel, or R = G = B)")
    return np.clip(np.nan_to_num(matte, nan=0.0), 0.0, 1.0).astype(np.float32)
