"""What the worker reads: the panel's source resolved to a path, frame numbers and colour space."""

import os
from dataclasses import dataclass
from typing import Optional

import bpy

from . import compositor
from .frames import FrameMap, sequence_file
from .rvmatte_hostkit import plate
from .rvmatte_hostkit.people import shot_name
from .rvmatte_hostkit.sequences import PatternError, numbered_file, parse_pattern
from .rvmatte_hostkit.sparse import format_ranges


def is_still_or_sequence(_self, image):
    """Poll of the Image pickers for mattes and keyframes: a still (one file for every frame) or an
    image sequence, never a movie or a generated image."""
    return image.source in {"FILE", "SEQUENCE"}


class SourceError(Exception):
    """The chosen source cannot be matted; the message is meant for the artist."""


@dataclass(frozen=True)
class Source:
    kind: str              # CLIP, IMAGE or NODE
    name: str              # data-block (or node) name, used for output names and node tags
    input_path: str        # absolute path or `#` pattern given to the worker
    is_movie: bool
    frame_map: FrameMap    # scene frame ↔ source frame
    first: int             # first and last source frame available
    last: int
    colorspace: str        # Blender colour space name of the source
    start_frame: Optional[int] = None  # a movie: the number of its first frame (`--start-frame`); None: a sequence

    @property
    def key(self):
        return f"{self.kind}:{self.name}"

    @property
    def shot_name(self):
        """The name of the passes, as `rvmatte run -o` gives them: the movie's or the sequence's file name
        without frame number and extension (`plate.####.exr`, `plate.mov` → `plate`)."""
        return shot_name(self.input_path)

    def scene_range(self):
        return self.frame_map.scene_frame(self.first), self.frame_map.scene_frame(self.last)


def _abspath(datablock):
    return os.path.normpath(bpy.path.abspath(datablock.filepath, library=datablock.library))


def movie_start(placed_at):
    """The number of a movie's first frame: the scene frame it is placed at (a clip's or Image node's
    Start Frame), so a clip placed at 1001 gives passes 1001, 1002, … like a 1001-based plate. The
    core numbers no frame below 0, so a movie placed before frame 0 starts at 0."""
    return max(int(placed_at), 0)


def _media(datablock, label, start=1):
    """(input path, is_movie, first, last, number of the data-block's own first frame): a sequence's file
    numbers; a movie's frames numbered from `start`."""
    path = _abspath(datablock)
    if datablock.source == "MOVIE":
        if not os.path.isfile(path):
            raise SourceError(f"{label}: movie file not found: {path}")
        return path, True, start, start + max(int(datablock.frame_duration), 1) - 1, start
    if datablock.source == "SEQUENCE":
        found = sequence_file(path)
        if found is None or not found[2]:
            raise SourceError(f"{label}: no image sequence found at {path}")
        pattern, number, frames = found
        return pattern.hashes, False, frames.first, frames.last, number
    raise SourceError(f"{label} is a single image; choose a movie or an image sequence")


def from_clip(clip):
    if clip is None:
        raise SourceError("choose a Movie Clip to matte")
    start = movie_start(clip.frame_start)
    path, is_movie, first, last, numbered = _media(clip, f"Movie Clip '{clip.name}'", start)
    # At scene frame F a clip shows its frame `numbered` + F - Start Frame + Offset (a movie's frames
    # numbered from `start`, a sequence's by file).
    offset = clip.frame_offset + numbered - 1
    return Source("CLIP", clip.name, path, is_movie, FrameMap(clip.frame_start, offset),
                  first, last, clip.colorspace_settings.name, start if is_movie else None)


def from_image(image):
    if image is None:
        raise SourceError("choose an Image (sequence or movie) to matte")
    path, is_movie, first, last, _ = _media(image, f"Image '{image.name}'")
    return Source("IMAGE", image.name, path, is_movie, FrameMap(1, 0), first, last,
                  image.colorspace_settings.name, 1 if is_movie else None)


def from_node(scene, node_name):
    tree = compositor.compositor_tree(scene)
    node = tree.nodes.get(node_name) if tree is not None and node_name else None
    if node is None or node.bl_idname != "CompositorNodeImage":
        raise SourceError(f"no Image node named '{node_name}' in the compositor")
    if node.image is None:
        raise SourceError(f"Image node '{node_name}' has no image")
    image = node.image
    start = movie_start(node.frame_start)
    path, is_movie, first, last, _ = _media(image, f"Image node '{node_name}'", start)
    # The node shows a sequence's file F - Start Frame + 1 + Offset, a movie's frame of that index.
    shift = start - 1 if is_movie else 0
    mapping = FrameMap(node.frame_start, node.frame_offset + shift)
    # Frames past the node's duration hold the last one: only the node's span is matted.
    first = max(first, 1 + node.frame_offset + shift)
    last = min(last, node.frame_duration + node.frame_offset + shift)
    if first > last:
        raise SourceError(f"Image node '{node_name}': its frame range shows no frame of {path}")
    return Source("NODE", node.name, path, is_movie, mapping, first, last, image.colorspace_settings.name,
                  start if is_movie else None)


def resolve(scene, settings):
    if settings.source_type == "CLIP":
        return from_clip(settings.clip)
    if settings.source_type == "IMAGE":
        return from_image(settings.image)
    return from_node(scene, settings.node_name)


def input_id(source):
    """`rvmatte run --input-id` for the source: its path and, by size and modification time, its movie
    file or the first and last files of its sequence on disk (rvmatte_hostkit.plate), so a plate
    re-rendered or replaced under the same name and size is a new version. Which frames are matted
    plays no part. Nothing else the add-on passes needs to be in it: the colour spaces, the start frame,
    the mattes, the weights and the OCIO config are in the worker's result key already."""
    if source.is_movie:
        files = [("movie", source.input_path)]
    else:
        try:
            pattern = parse_pattern(source.input_path, notations=("hashes",))
        except PatternError:      # the worker says what is wrong with the name
            pattern = None
        files = plate.sequence_ends(pattern) if pattern is not None else []
    return plate.input_id(source.input_path, files)


def source_frames(source, scene, settings):
    """The (first, last) source frames to matte for the panel's frame range choice."""
    if settings.frame_range == "SOURCE":
        return source.first, source.last
    if settings.frame_range == "SCENE":
        start, end = scene.frame_start, scene.frame_end
    else:
        start, end = settings.frame_start, settings.frame_end
    if end < start:
        raise SourceError(f"frame range {start}-{end}: the end is before the start")
    first = max(source.frame_map.source_frame(start), source.first)
    last = min(source.frame_map.source_frame(end), source.last)
    if first > last:
        lo, hi = source.scene_range()
        raise SourceError(f"scene frames {start}-{end} show no frame of '{source.name}' "
                          f"(it covers scene frames {lo}-{hi})")
    return first, last


@dataclass(frozen=True)
class MatteInput:
    """A holdout or garbage matte as the worker reads it (`--holdout`/`--garbage`)."""

    path: str              # file of a still, `#` pattern of a sequence
    copy_from: str = ""    # a still whose name holds a number: copied to `path` before the run


def matte_input(image, label, first, last, staging):
    """The worker's path for a matte Image, checked against the source frames `first`-`last`.

    A sequence is read by file number, the same numbers as the source's frames.
    A still serves every frame, but the worker takes a numbered file name for a
    frame of a sequence, so such a still is copied to `staging` + its extension.
    Returns None when no image is set.
    """
    if image is None:
        return None
    named = f"{label} '{image.name}'"
    if image.source not in {"FILE", "SEQUENCE"}:
        raise SourceError(f"{named} is a {image.source.lower()} image; choose a still image or an image sequence")
    path = saved_image_path(image, named)
    if image.source == "SEQUENCE":
        found = existing_sequence(path, named)
        pattern, _, frames = found
        missing = frames.missing(range(first, last + 1))
        if missing:
            raise SourceError(f"{named} has frames {format_ranges(frames)}; the source frames {first}-{last} "
                              f"need a matte each (numbered like the source), missing {format_ranges(missing)}")
        return MatteInput(pattern.hashes)
    if not os.path.isfile(path):
        raise SourceError(f"{named}: file not found: {path}")
    if numbered_file(path) is None:
        return MatteInput(path)
    return MatteInput(staging + os.path.splitext(path)[1], copy_from=path)


def saved_image_path(image, named):
    """The absolute path of an Image the worker can read as it is on disk: not packed, no unsaved edits."""
    if image.packed_file is not None:
        raise SourceError(f"{named} is packed into the .blend file; unpack it to a file first")
    if image.is_dirty:
        raise SourceError(f"{named} has unsaved changes; save the image first")
    return _abspath(image)


def existing_sequence(path, named):
    """``sequence_file(path)`` for an image sequence that has files on disk (SourceError naming it if not)."""
    found = sequence_file(path)
    if found is None or not found[2]:
        raise SourceError(f"{named}: no image sequence found at {path}")
    return found
