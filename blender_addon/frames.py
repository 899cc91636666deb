"""Scene frames ↔ the source's own frame numbers.

Blender shows, at scene frame F, the source frame `F - scene_start + 1 + offset`
(an Image node's "Start Frame"/"Offset", a Movie Clip's "Start Frame"/"Frame
Offset"). The worker numbers its outputs with the source's own numbers (file
numbers of a sequence, 1-based frame index of a movie), so the passes read back
through the same mapping line up frame for frame with the source.
"""

from dataclasses import dataclass

from .rvmatte_hostkit.sequences import numbered_file
from .rvmatte_hostkit.sparse import SparseSequence


@dataclass(frozen=True)
class FrameMap:
    scene_start: int = 1
    offset: int = 0

    def source_frame(self, scene_frame):
        return scene_frame - self.scene_start + 1 + self.offset

    def scene_frame(self, source_frame):
        return source_frame + self.scene_start - 1 - self.offset


def sequence_file(path):
    """``(pattern, number)`` of a sequence's file as Blender reads it (the file's own digits
    are the padding), its frames on disk in ``pattern``'s SparseSequence; None when the
    name holds no number."""
    found = numbered_file(path)
    if found is None:
        return None
    return found[0], found[1], SparseSequence.scan(found[0])
