"""SMPTE timecode: a movie's start timecode advanced per frame, packed as EXR's ``timeCode``."""

from __future__ import annotations

import re

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2})$")


class Timecode:
    """A start timecode (``HH:MM:SS:FF``; ``;`` marks drop-frame) at an integer-ish rate."""

    def __init__(self, text: str, fps: float):
        match = _TIMECODE.match(text.strip())
        if not match or not fps:
            raise ValueError(f"not a timecode: {text!r}")
        hours, minutes, seconds, separator, frames = match.groups()
        self.rate = round(fps)
        self.drop = separator in ";," and self.rate in (30, 60)
        self.dropped_per_minute = self.rate // 15 if self.drop else 0
        if self.rate <= 0 or int(frames) >= self.rate:
            raise ValueError(f"not a timecode at {fps} fps: {text!r}")
        total_minutes = int(hours) * 60 + int(minutes)
        count = (total_minutes * 60 + int(seconds)) * self.rate + int(frames)
        self.start = count - self.dropped_per_minute * (total_minutes - total_minutes // 10)

    def fields(self, offset: int = 0) -> tuple[int, int, int, int]:
        """(hours, minutes, seconds, frames) ``offset`` frames after the start (24 h wrap)."""
        count = self.start + offset
        if self.drop:
            per_ten_minutes = self.rate * 600 - self.dropped_per_minute * 9
            per_minute = self.rate * 60 - self.dropped_per_minute
            tens, rest = divmod(count, per_ten_minutes)
            count += self.dropped_per_minute * 9 * tens
            if rest >= self.dropped_per_minute:
                count += self.dropped_per_minute * ((rest - self.dropped_per_minute) // per_minute)
        count %= self.rate * 86400
        seconds, frames = divmod(count, self.rate)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return hours, minutes, seconds, frames

    def text(self, offset: int = 0) -> str:
        hours, minutes, seconds, frames = self.fields(offset)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}{';' if self.drop else ':'}{frames:02d}"

    def smpte(self, offset: int = 0) -> tuple[int, int]:
        """OpenImageIO's ``smpte:TimeCode`` value: (BCD time and flags, user bits)."""
        hours, minutes, seconds, frames = self.fields(offset)

        def bcd(value: int) -> int:
            return (value // 10) << 4 | value % 10

        packed = bcd(frames) | bcd(seconds) << 8 | bcd(minutes) << 16 | bcd(hours) << 24
        if self.drop:
            packed |= 1 << 6
        return packed, 0
