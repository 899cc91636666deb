"""Numbered file sequences: the padding notations artists type, the files on disk.

Notations (one per file name; the count of ``#`` or ``@`` is the padding):
``plate.####.exr`` (Nuke, Houdini, Blender), ``plate.@@@@.exr`` (Shake, RV),
``plate.%04d.exr`` and ``plate.%d.exr`` (printf), ``plate.$F4.exr`` and
``plate.$F.exr`` (Houdini). A host that gives some of these characters another
meaning (Nuke: ``$`` is TCL, ``@`` an ordinary character) names the notations it
accepts.
"""

import os
import re
from dataclasses import dataclass
from typing import Optional

IMAGE_EXTENSIONS = frozenset(
    ".exr .sxr .mxr .dpx .cin .tif .tiff .tx .png .jpg .jpeg .jpe .jfif .tga .bmp .hdr .rgbe "
    ".psd .jp2 .j2k .webp .heic .avif .ppm .pgm .pnm .sgi .rgb .iff .pic .fits .dds".split()
)
MOVIE_EXTENSIONS = frozenset(
    ".mov .mp4 .m4v .mkv .avi .webm .mxf .mpg .mpeg .ts .mts .m2ts .ogv .wmv .flv .gif .r3d .braw .ari".split()
)

NOTATIONS = ("hashes", "ats", "printf", "houdini")
_TOKENS = {
    "hashes": r"(?P<hashes>#+)",
    "ats": r"(?P<ats>@+)",
    "printf": r"%(?P<printf>0?\d*)d",
    "houdini": r"\$F(?P<houdini>\d*)",
}
_SEPARATORS = "._- "
_LAST_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


class PatternError(ValueError):
    """A file name that cannot be read as a sequence pattern; the message names it."""


def _token_regex(notations):
    unknown = [n for n in notations if n not in _TOKENS]
    if unknown:
        raise ValueError("unknown notation %r (known: %s)" % (unknown[0], ", ".join(NOTATIONS)))
    return re.compile("|".join(_TOKENS[n] for n in notations))


_ALL_TOKENS = _token_regex(NOTATIONS)


@dataclass(frozen=True)
class SequencePattern:
    """A numbered file sequence: ``directory/prefix<frame, padded to padding>suffix``.

    ``padding`` 0 means unpadded numbers (``%d``, ``$F``). ``padding`` None is a
    single un-numbered file, seen as frame 1.
    """

    directory: str
    prefix: str
    suffix: str
    padding: Optional[int]

    def path(self, frame):
        if self.padding is None:
            return os.path.join(self.directory, self.prefix + self.suffix)
        if frame < 0:
            raise ValueError("negative frame numbers are not supported (%d)" % frame)
        return os.path.join(self.directory, "%s%0*d%s" % (self.prefix, self.padding, frame, self.suffix))

    @property
    def extension(self):
        return split_extension(self.suffix)[1].lower()

    @property
    def hashes(self):
        """Display form, e.g. ``shots/plate.####.exr``."""
        if self.padding is None:
            return self.path(1)
        return os.path.join(self.directory, self.prefix + "#" * max(self.padding, 1) + self.suffix)

    @property
    def printf(self):
        """printf form, e.g. ``shots/plate.%04d.exr`` (ffmpeg, Nuke)."""
        if self.padding is None:
            return self.path(1)
        token = "%%0%dd" % self.padding if self.padding else "%d"
        return os.path.join(self.directory, self.prefix + token + self.suffix)

    @property
    def name(self):
        """Base name without frame number, separators and extension (``plate.####.exr`` → ``plate``)."""
        if self.padding is None:
            return self.prefix
        stem = self.prefix.rstrip(_SEPARATORS) or split_extension(self.suffix)[0].strip(_SEPARATORS)
        if not stem:
            stem = os.path.basename(os.path.abspath(self.directory or "."))
        return stem

    def matches(self, file_name):
        """The frame number that ``file_name`` (a base name) holds in this sequence, else None.

        A padded sequence also takes longer numbers without a leading zero
        (``####`` reads frame 12345); an unpadded one takes no leading zeros.
        """
        if self.padding is None:
            return 1 if file_name == self.prefix + self.suffix else None
        if not (file_name.startswith(self.prefix) and file_name.endswith(self.suffix)):
            return None
        digits = file_name[len(self.prefix):len(file_name) - len(self.suffix)]
        if not digits or not all("0" <= c <= "9" for c in digits):
            return None
        if self.padding == 0:
            padded_ok = digits == "0" or not digits.startswith("0")
        else:
            padded_ok = len(digits) == self.padding or (len(digits) > self.padding and digits[0] != "0")
        return int(digits) if padded_ok else None

    def frames_on_disk(self, nonempty=False):
        """Every frame number whose file exists (and, with ``nonempty``, is not empty), sorted."""
        frames = set()
        for name in list_dir(self.directory):
            frame = self.matches(name)
            if frame is not None and (not nonempty or _size(os.path.join(self.directory, name)) > 0):
                frames.add(frame)
        return sorted(frames)


def parse_pattern(spec, notations=NOTATIONS):
    """The pattern ``spec`` writes with a padding token in its file name, or None when it has none.

    Raises PatternError for two tokens in one file name.
    """
    regex = _ALL_TOKENS if tuple(notations) == NOTATIONS else _token_regex(notations)
    directory, base = os.path.split(spec)
    tokens = list(regex.finditer(base))
    if not tokens:
        return None
    if len(tokens) > 1:
        raise PatternError("%s: more than one frame-number token in the file name" % spec)
    token = tokens[0]
    found = dict((k, v) for k, v in token.groupdict().items() if v is not None)
    if "hashes" in found or "ats" in found:
        padding = len(found.get("hashes") or found["ats"])
    else:
        padding = int(found.get("printf") or found.get("houdini") or 0)
    return SequencePattern(directory, base[:token.start()], base[token.end():], padding)


def has_frame_token(spec, notations=NOTATIONS):
    """Whether the file name of ``spec`` holds a frame-number token."""
    regex = _ALL_TOKENS if tuple(notations) == NOTATIONS else _token_regex(notations)
    return regex.search(os.path.basename(spec)) is not None


def split_numbered(file_name):
    """``(prefix, digits, suffix)`` around the last run of digits before the extension, or None."""
    stem, ext = os.path.splitext(file_name)
    match = _LAST_NUMBER.match(stem)
    if not match:
        return None
    return match.group(1), match.group(2), match.group(3) + ext


def numbered_file(path):
    """``(pattern, number)`` of one numbered file, the padding being its own digits
    (``/s/plate.1001.exr`` → ``/s/plate.####.exr``, 1001), as Blender reads a sequence
    from one of its files; None when the file name holds no number."""
    directory, base = os.path.split(path)
    parts = split_numbered(base)
    if parts is None:
        return None
    prefix, digits, suffix = parts
    return SequencePattern(directory, prefix, suffix, len(digits)), int(digits)


def infer_padding(digit_strings):
    """Padding of a sequence from its frame numbers as written in its file names."""
    digit_strings = list(digit_strings)
    padded = [d for d in digit_strings if len(d) > 1 and d.startswith("0")]
    if padded:
        return max(len(d) for d in padded)
    lengths = set(len(d) for d in digit_strings)
    return lengths.pop() if len(lengths) == 1 else 0


def sequence_of_file(path):
    """The sequence a file belongs to, padding read from its siblings
    (``plate.1001.exr`` → ``plate.####.exr``); an un-numbered file is a one-file pattern."""
    directory, base = os.path.split(path)
    parts = split_numbered(base)
    if parts is None:
        stem, ext = os.path.splitext(base)
        return SequencePattern(directory, stem, ext, None)
    prefix, digits, suffix = parts
    siblings = []
    for name in list_dir(directory):
        sibling = split_numbered(name)
        if sibling and sibling[0] == prefix and sibling[2] == suffix:
            siblings.append(sibling[1])
    return SequencePattern(directory, prefix, suffix, infer_padding(siblings or [digits]))


def sequences_in_directory(directory):
    """Every numbered image sequence in ``directory`` (hidden files and other types ignored)."""
    groups = {}
    for name in list_dir(directory):
        if name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
            continue
        parts = split_numbered(name)
        if parts and os.path.isfile(os.path.join(directory, name)):
            groups.setdefault((parts[0], parts[2]), []).append(parts[1])
    return [SequencePattern(directory, prefix, suffix, infer_padding(digits))
            for (prefix, suffix), digits in sorted(groups.items())]


def is_movie(path):
    return os.path.splitext(path)[1].lower() in MOVIE_EXTENSIONS


def split_extension(suffix):
    """Like os.path.splitext, but ``.exr`` alone is an extension, not a hidden file's name."""
    stem, ext = os.path.splitext("_" + suffix)
    return stem[1:], ext


def list_dir(directory):
    try:
        return os.listdir(directory or ".")
    except OSError:
        return []


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
