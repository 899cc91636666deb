"""Movies decoded in order with PyAV (never by time seeks), numbered from ``start_frame``."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable, Iterator

import av
import numpy as np

from ..errors import InputError, one_line
from .header import plain_header
from .source import Plate, Source
from .timecode import Timecode

MOVIE_EXTENSIONS = frozenset(".mp4 .mov .mkv .avi .webm .mxf .m4v".split())


def is_movie(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in MOVIE_EXTENSIONS


class MovieSource(Source):
    """A movie file. Frames are decoded sequentially from the start every time ``read`` runs."""

    kind = "movie"
    is_float = False

    def __init__(self, path: str, start_frame: int | None = None):
        if not os.path.isfile(path):
            raise InputError(f"input does not exist: {path}")
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.start_frame = 1 if start_frame is None else int(start_frame)
        if self.start_frame < 0:
            raise InputError(f"{path}: the start frame must not be negative ({start_frame})")
        container = self._open()
        try:
            stream = container.streams.video[0]
            codec = stream.codec_context
            self.width, self.height = codec.width, codec.height
            self.pixel_aspect = _pixel_aspect(stream)
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.fps = float(rate) if rate else None
            self.file_format = f"{container.format.name}/{codec.name}"
            self.pixel_format = codec.pix_fmt or ""
            self.timecode = _start_timecode(container, stream, self.fps)
            count = _count_frames(container, stream)
        except av.FFmpegError as error:
            raise InputError(f"cannot read movie {path} ({one_line(error)})") from None
        finally:
            container.close()
        if count == 0:
            raise InputError(f"movie {path} holds no video frames")
        self.frames = list(range(self.start_frame, self.start_frame + count))
        self.channels = ("R", "G", "B")
        self.layers = ()
        self.colorspace_hint = None

    def read(self, frames: Iterable[int]) -> Iterator[Plate]:
        wanted = list(frames)
        if not wanted:
            return
        if wanted != sorted(wanted):
            raise ValueError("movie frames must be requested in increasing order")
        container = self._open()
        header = plain_header(self.width, self.height, self.pixel_aspect, self._attributes())
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            pending = iter(wanted)
            target = next(pending)
            number = self.start_frame
            try:
                for decoded in container.decode(stream):
                    if number == target:
                        yield Plate(frame=number, rgb=_to_rgb(decoded), header=self._header(header, number), path=self.path)
                        target = next(pending, None)
                        if target is None:
                            return
                    number += 1
            except av.FFmpegError as error:
                raise InputError(f"frame {number}: cannot decode {self.path} ({one_line(error)})") from None
            raise InputError(f"frame {target} is missing: {self.path} ends at frame {number - 1}")
        finally:
            container.close()

    def _open(self):
        try:
            return av.open(self.path)
        except (av.FFmpegError, OSError) as error:
            raise InputError(f"cannot open movie {self.path} ({one_line(error)})") from None

    def _header(self, header: dict, frame: int) -> dict:
        if self.timecode is None:
            return header
        attributes = dict(header["attributes"])
        attributes["smpte:TimeCode"] = ("timecode", self.timecode.smpte(frame - self.start_frame))
        return dict(header, attributes=attributes)

    def _attributes(self) -> dict:
        if not self.fps:
            return {}
        rate = Fraction(self.fps).limit_denominator(1001)
        return {"FramesPerSecond": ("rational", (rate.numerator, rate.denominator))}


def _start_timecode(container, stream, fps: float | None) -> Timecode | None:
    """The movie's start timecode (QuickTime tmcd / MXF), None when absent or unusable."""
    text = stream.metadata.get("timecode") or container.metadata.get("timecode")
    for other in container.streams:
        text = text or other.metadata.get("timecode")
    try:
        return Timecode(text, fps) if text and fps else None
    except ValueError:
        return None


def _pixel_aspect(stream) -> float:
    ratio = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return float(ratio) if ratio else 1.0


def _count_frames(container, stream) -> int:
    """Frames in the stream, counted from its packets (no decoding): the header's count
    (``stream.frames``) is often 0 or wrong; empty and discarded packets hold no picture."""
    count = 0
    for packet in container.demux(stream):
        if packet.size and not getattr(packet, "is_discard", False):
            count += 1
    return count


def _to_rgb(frame) -> np.ndarray:
    """Decoded frame → float32 RGB 0..1, keeping 10/12-bit precision when the source has it."""
    depth = max((c.bits for c in frame.format.components), default=8)
    if depth > 8:
        pixels = frame.to_ndarray(format="rgb48le")
        rgb = pixels.astype(np.float32) * np.float32(1 / 65535)
    else:
        pixels = frame.to_ndarray(format="rgb24")
        rgb = pixels.astype(np.float32) * np.float32(1 / 255)
    return np.ascontiguousarray(rgb)
