"""Review movies written with PyAV: H.264 (.mp4 .m4v .mkv) and ProRes 4444 with alpha (.mov).

Frames are display-encoded float32 in 0..1 (grey, RGB or RGBA), encoded as BT.709
and tagged so, so players and ``rvmatte``'s own movie reader decode the same
colours. A movie is written to a temporary file beside its target and renamed
when it is closed, so a failed run never leaves a half-written movie.
"""

from __future__ import annotations

import os
import secrets
import threading
from fractions import Fraction
from typing import Iterable

import av
import numpy as np

from ..errors import OutputError
from .images import one_line
from .writing import host_id, make_output_folder

H264_EXTENSIONS = frozenset((".mp4", ".m4v", ".mkv"))
PRORES_EXTENSIONS = frozenset((".mov",))
MOVIE_OUT_EXTENSIONS = H264_EXTENSIONS | PRORES_EXTENSIONS
DEFAULT_FPS = 24.0
_BT709 = 1             # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709
_LIMITED_RANGE = 1     # AVCOL_RANGE_MPEG


def is_movie_output(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in MOVIE_OUT_EXTENSIONS


def movie_codec(path: str) -> str:
    """``"h264"`` or ``"prores4444"`` for an output path; OutputError for other extensions."""
    extension = os.path.splitext(path)[1].lower()
    if extension in H264_EXTENSIONS:
        return "h264"
    if extension in PRORES_EXTENSIONS:
        return "prores4444"
    raise OutputError(f"{path}: movie outputs are .mp4/.m4v/.mkv (H.264) or .mov (ProRes 4444)")


class MovieTarget:
    """A movie output where the engine expects a frame pattern: every frame maps to the one file."""

    is_movie = True

    def __init__(self, path: str):
        movie_codec(path)
        self.hashes = os.fspath(path)
        self.extension = os.path.splitext(self.hashes)[1]

    def path(self, frame: int) -> str:
        return self.hashes


class MovieWriter:
    """Encodes frames in the order given. ``bitrate`` (bits/s) applies to H.264; without
    it H.264 is encoded at constant quality (CRF 18). ProRes 4444 keeps alpha when frames
    have four channels. ``codec`` (``"h264"`` or ``"prores4444"``) overrides the choice by
    extension, and then any container FFmpeg knows by the extension is accepted."""

    def __init__(self, path: str, width: int, height: int, fps: float | None = None, *,
                 bitrate: int | None = None, pixel_aspect: float = 1.0, codec: str | None = None):
        self.path = os.fspath(path)
        if codec not in (None, "h264", "prores4444"):
            raise ValueError(f"unknown movie codec {codec!r}")
        self.codec = codec or movie_codec(self.path)
        if width < 1 or height < 1:
            raise OutputError(f"{self.path}: cannot write a {width}x{height} movie")
        self.width, self.height = width, height
        self.fps = float(fps or DEFAULT_FPS)
        if not self.fps > 0:
            raise OutputError(f"{self.path}: the frame rate must be positive, not {fps}")
        self.frames = 0
        # 4:2:0 needs even sizes: an odd width/height is padded by repeating the last column/row.
        self._encoded_size = (width + width % 2, height + height % 2) if self.codec == "h264" else (width, height)
        directory, base = os.path.split(os.path.abspath(self.path))
        make_output_folder(directory, for_path=self.path)
        self._temp = os.path.join(directory, f".{base}.tmp-{host_id()}-{os.getpid()}-{secrets.token_hex(4)}{os.path.splitext(base)[1]}")
        try:
            self._container = av.open(self._temp, mode="w", format=_container_format(self.path))
            self._stream = self._add_stream(bitrate, pixel_aspect)
        except (av.FFmpegError, OSError, ValueError) as error:
            self._remove_temp()
            raise OutputError(f"cannot write movie {self.path} ({one_line(error)})") from None

    def _add_stream(self, bitrate: int | None, pixel_aspect: float):
        rate = Fraction(self.fps).limit_denominator(1001)
        if self.codec == "h264":
            stream = self._container.add_stream("libx264", rate=rate)
            stream.pix_fmt = "yuv420p"
            if bitrate:
                stream.bit_rate = int(bitrate)
            else:
                stream.options = {"crf": "18"}
        else:
            stream = self._container.add_stream("prores_ks", rate=rate)
            stream.pix_fmt = "yuva444p10le"
            stream.options = {"profile": "4444", "vendor": "apl0"}
        stream.width, stream.height = self._encoded_size
        context = stream.codec_context
        context.color_primaries = context.color_trc = context.colorspace = _BT709
        context.color_range = _LIMITED_RANGE
        if pixel_aspect and abs(pixel_aspect - 1.0) > 1e-6:
            context.sample_aspect_ratio = Fraction(pixel_aspect).limit_denominator(1000)
        return stream

    def write(self, pixels: np.ndarray) -> None:
        """One frame: float (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), display-encoded 0..1."""
        frame = self._video_frame(pixels)
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as error:
            raise OutputError(f"frame {self.frames + 1}: cannot encode {self.path} ({one_line(error)})") from None
        self.frames += 1

    def _video_frame(self, pixels: np.ndarray) -> av.VideoFrame:
        pixels = np.asarray(pixels, dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if pixels.shape[:2] != (self.height, self.width) or pixels.shape[2] not in (1, 3, 4):
            raise ValueError(f"{self.path}: frame of shape {pixels.shape}, expected "
                             f"({self.height}, {self.width}, 1|3|4)")
        if pixels.shape[2] == 1:
            pixels = np.repeat(pixels, 3, axis=2)
        width, height = self._encoded_size
        if (width, height) != (self.width, self.height):
            pixels = np.pad(pixels, ((0, height - self.height), (0, width - self.width), (0, 0)), mode="edge")
        pixels = np.clip(np.nan_to_num(pixels, nan=0.0), 0.0, 1.0)
        if self.codec == "h264":
            frame = av.VideoFrame.from_ndarray(_quantise(pixels[:, :, :3], 255, np.uint8), format="rgb24")
            return frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        if pixels.shape[2] == 3:
            pixels = np.concatenate([pixels, np.ones_like(pixels[:, :, :1])], axis=2)
        frame = av.VideoFrame.from_ndarray(_quantise(pixels, 65535, np.uint16), format="rgba64le")
        return frame.reformat(format="yuva444p10le", dst_colorspace="ITU709", dst_color_range="MPEG")

    def close(self) -> None:
        """Flush the encoder and move the finished movie into place."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except (av.FFmpegError, OSError) as error:
            self._remove_temp()
            raise OutputError(f"cannot finish movie {self.path} ({one_line(error)})") from None
        if self.frames == 0:
            self._remove_temp()
            raise OutputError(f"{self.path}: no frames were written")
        try:
            os.replace(self._temp, self.path)
        except OSError as error:
            self._remove_temp()
            raise OutputError(f"cannot write {self.path} ({error.strerror or error})") from None

    def abort(self) -> None:
        """Stop without a movie: the temporary file is removed."""
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the run has already failed; keep its error
            pass
        self._remove_temp()

    def _remove_temp(self) -> None:
        try:
            os.remove(self._temp)
        except OSError:
            pass


class InOrder:
    """Hands frames to a writer in the order of ``frames``, whatever order threads deliver them.

    Writer threads finish frames out of order; a movie must get them in order. A frame
    that arrives early waits in a small buffer (bounded by the frames in flight) and is
    encoded by whichever thread delivers the frame before it.
    """

    def __init__(self, writer: MovieWriter, frames: Iterable[int]):
        self.writer = writer
        self._order = list(frames)
        self._next = 0
        self._early: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def put(self, frame: int, pixels: np.ndarray) -> None:
        with self._lock:
            self._early[frame] = pixels
            while self._next < len(self._order) and self._order[self._next] in self._early:
                self.writer.write(self._early.pop(self._order[self._next]))
                self._next += 1

    @property
    def complete(self) -> bool:
        return self._next == len(self._order)


def _quantise(pixels: np.ndarray, top: int, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.rint(pixels * top).astype(dtype))


def _container_format(path: str) -> str | None:
    return {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov"}.get(os.path.splitext(path)[1].lower())
