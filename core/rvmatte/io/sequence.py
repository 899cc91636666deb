"""Numbered image sequences: parse the padding notations artists type, find frames on disk.

Accepted notations (one per file name, `#`/`@` count = padding):
``plate.####.exr`` (Nuke/Houdini), ``plate.@@@@.exr`` (Shake/RV), ``plate.%04d.exr``
and ``plate.%d.exr`` (printf), ``plate.$F4.exr`` and ``plate.$F.exr`` (Houdini).
A single file of a sequence (``plate.1001.exr``) and a directory holding one
sequence resolve to the whole sequence.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import InputError, OutputError

IMAGE_EXTENSIONS = frozenset(
    ".exr .sxr .mxr .dpx .cin .tif .tiff .tx .png .jpg .jpeg .jpe .jfif .tga .bmp .hdr .rgbe "
    ".psd .jp2 .j2k .webp .heic .avif .ppm .pgm .pnm .sgi .rgb .iff .pic .fits .dds".split()
)

_TOKEN = re.compile(r"(?P<hashes>#+)|(?P<ats>@+)|%(?P<printf>0?\d*)d|\$F(?P<houdini>\d*)")
_SEPARATORS = "._- "


@dataclass(frozen=True)
class SequencePattern:
    """A numbered file sequence: ``directory/prefix<frame padded to padding>suffix``.

    ``padding`` 0 means unpadded numbers (``%d``, ``$F``). A pattern with
    ``padding`` None is a single un-numbered still image, seen as frame 1.
    """

    directory: str
    prefix: str
    suffix: str
    padding: int | None

    def path(self, frame: int) -> str:
        if self.padding is None:
            return os.path.join(self.directory, self.prefix + self.suffix)
        if frame < 0:
            raise ValueError(f"negative frame numbers are not supported ({frame})")
        return os.path.join(self.directory, f"{self.prefix}{frame:0{self.padding}d}{self.suffix}")

    @property
    def extension(self) -> str:
        return _split_extension(self.suffix)[1].lower()

    @property
    def hashes(self) -> str:
        """Display form, e.g. ``shots/plate.####.exr``."""
        if self.padding is None:
            return self.path(1)
        return os.path.join(self.directory, self.prefix + "#" * max(self.padding, 1) + self.suffix)

    @property
    def printf(self) -> str:
        """printf form, e.g. ``shots/plate.%04d.exr`` (ffmpeg, Nuke)."""
        if self.padding is None:
            return self.path(1)
        token = f"%0{self.padding}d" if self.padding else "%d"
        return os.path.join(self.directory, self.prefix + token + self.suffix)

    @property
    def name(self) -> str:
        """Base name without frame number, separators and extension (``plate.####.exr`` → ``plate``)."""
        if self.padding is None:
            return self.prefix
        stem = self.prefix.rstrip(_SEPARATORS) or _split_extension(self.suffix)[0].strip(_SEPARATORS)
        if not stem:
            stem = os.path.basename(os.path.abspath(self.directory or "."))
        return stem

    def matches(self, file_name: str) -> int | None:
        """The frame number that ``file_name`` (a base name) holds in this sequence, else None."""
        if self.padding is None:
            return 1 if file_name == self.prefix + self.suffix else None
        if not (file_name.startswith(self.prefix) and file_name.endswith(self.suffix)):
            return None
        digits = file_name[len(self.prefix) : len(file_name) - len(self.suffix)]
        if not digits.isdigit() or not digits.isascii():
            return None
        if self.padding == 0:
            padded_ok = digits == "0" or not digits.startswith("0")
        else:
            padded_ok = len(digits) == self.padding or (len(digits) > self.padding and digits[0] != "0")
        return int(digits) if padded_ok else None

    def frames_on_disk(self) -> list[int]:
        """Every frame number whose file exists, sorted."""
        try:
            names = os.listdir(self.directory or ".")
        except OSError:
            return []
        frames = {f for f in map(self.matches, names) if f is not None}
        return sorted(frames)


def parse_pattern(spec: str) -> SequencePattern | None:
    """A pattern written with a padding token, or None when ``spec`` holds no token."""
    directory, base = os.path.split(spec)
    tokens = list(_TOKEN.finditer(base))
    if not tokens:
        return None
    if len(tokens) > 1:
        raise InputError(f"{spec}: more than one frame-number token in the file name")
    token = tokens[0]
    if token.group("hashes") is not None:
        padding = len(token.group("hashes"))
    elif token.group("ats") is not None:
        padding = len(token.group("ats"))
    elif token.group("printf") is not None:
        padding = int(token.group("printf") or 0)
    else:
        padding = int(token.group("houdini") or 0)
    return SequencePattern(directory, base[: token.start()], base[token.end() :], padding)


def split_numbered(file_name: str) -> tuple[str, str, str] | None:
    """``(prefix, digits, suffix)`` around the last run of digits before the extension."""
    stem, ext = os.path.splitext(file_name)
    match = re.match(r"^(.*?)(\d+)(\D*)$", stem)
    if not match:
        return None
    return match.group(1), match.group(2), match.group(3) + ext


def _infer_padding(digit_strings: list[str]) -> int:
    """Padding of a sequence from the frame numbers as written in its file names."""
    padded = [d for d in digit_strings if len(d) > 1 and d.startswith("0")]
    if padded:
        return max(len(d) for d in padded)
    lengths = {len(d) for d in digit_strings}
    return lengths.pop() if len(lengths) == 1 else 0


def sequence_of_file(path: str) -> SequencePattern:
    """The sequence a numbered file belongs to (``plate.1001.exr`` → ``plate.####.exr``)."""
    directory, base = os.path.split(path)
    parts = split_numbered(base)
    if parts is None:
        return SequencePattern(directory, os.path.splitext(base)[0], os.path.splitext(base)[1], None)
    prefix, _, suffix = parts
    siblings = []
    for name in _list_dir(directory):
        sibling = split_numbered(name)
        if sibling and sibling[0] == prefix and sibling[2] == suffix:
            siblings.append(sibling[1])
    return SequencePattern(directory, prefix, suffix, _infer_padding(siblings or [parts[1]]))


def sequences_in_directory(directory: str) -> list[SequencePattern]:
    """Every numbered image sequence in ``directory`` (hidden files and other types ignored)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in _list_dir(directory):
        if name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
            continue
        parts = split_numbered(name)
        if parts and os.path.isfile(os.path.join(directory, name)):
            groups.setdefault((parts[0], parts[2]), []).append(parts[1])
    return [
        SequencePattern(directory, prefix, suffix, _infer_padding(digits))
        for (prefix, suffix), digits in sorted(groups.items())
    ]


def find_sequence(path: str) -> SequencePattern:
    """Resolve what a user typed (pattern, one file, or directory) to a sequence on disk.

    Raises InputError when nothing matches, naming the path.
    """
    pattern = parse_pattern(path)
    if pattern is not None:
        if not os.path.isdir(pattern.directory or "."):
            raise InputError(f"input folder does not exist: {pattern.directory}")
        if not pattern.frames_on_disk():
            raise InputError(f"no frames found for {pattern.hashes}")
        return pattern
    if os.path.isdir(path):
        found = sequences_in_directory(path)
        if not found:
            raise InputError(f"no numbered image sequence in folder {path}")
        if len(found) > 1:
            listed = ", ".join(s.hashes for s in found[:6]) + (" ..." if len(found) > 6 else "")
            raise InputError(f"folder {path} holds {len(found)} image sequences, name one: {listed}")
        return found[0]
    if os.path.isfile(path):
        return sequence_of_file(path)
    raise InputError(f"input does not exist: {path}")


def output_pattern(spec: str) -> SequencePattern:
    """An output sequence from any accepted notation.

    A numbered name gives its padding (``out/a.1001.exr`` → ``out/a.####.exr``); a
    name without a number gets ``.####`` before its extension (``out/a.exr``).
    """
    try:
        pattern = parse_pattern(spec)
    except InputError as error:
        raise OutputError(str(error)) from None
    directory, base = os.path.split(spec)
    if pattern is None:
        stem, ext = os.path.splitext(base)
        if not ext:
            raise OutputError(f"output pattern {spec} has no file extension (e.g. {spec}.####.exr)")
        parts = split_numbered(base)
        if parts is not None:
            pattern = SequencePattern(directory, parts[0], parts[2], len(parts[1]))
        else:
            pattern = SequencePattern(directory, stem + ".", ext, 4)
    if not pattern.extension:
        raise OutputError(f"output pattern {spec} has no file extension (e.g. {pattern.hashes}.exr)")
    return pattern


def _split_extension(suffix: str) -> tuple[str, str]:
    """Like os.path.splitext, but ``.exr`` alone is an extension, not a hidden file's name."""
    stem, ext = os.path.splitext("_" + suffix)
    return stem[1:], ext


def _list_dir(directory: str) -> list[str]:
    try:
        return os.listdir(directory or ".")
    except OSError:
        return []
