"""What a host knows of a plate's contents: the value of ``rvmatte run --input-id`` (docs/io.md).

The worker's result key knows the plate by its frame size, pixel aspect and colour space only, so
``--versions`` and ``--resume`` would go back into the version of a plate re-rendered or replaced
under the same name and size and keep its frames. A host passes an id of what the plate is: the
path the worker is given and a stamp of the files that stand for its contents (a movie's file, a
sequence's first and last frames on disk), each by its size and modification time in whole seconds
(a stat, never a read: this runs on the host's UI thread). Another file, or one re-rendered, is
another id and so another version; the same files give the same id, whichever of their frames are
matted, so a longer range continues its version.

  file_stamp(path)                 "size:mtime", or "missing"
  sequence_ends(pattern)           [(frame, path)] of a SequencePattern's first and last frame on disk
  input_id(path, files, extra=())  16 hex digits of the path, the files' stamps and the host's extra entries
"""
import hashlib
import os


def file_stamp(path):
    """``"<size>:<mtime in whole seconds>"`` of a file, ``"missing"`` when it cannot be stat'ed."""
    try:
        info = os.stat(path)
    except OSError:
        return "missing"
    return "%d:%d" % (info.st_size, int(info.st_mtime))


def sequence_ends(pattern, frames=None):
    """``[(frame, path)]`` of the files that stand for a sequence (a ``sequences.SequencePattern``): those
    of ``frames`` when given (a host's own range, e.g. a Read's first and last), else the first and last
    frame on disk; one entry when they are the same frame, none when no file is there."""
    if frames is None:
        on_disk = pattern.frames_on_disk()
        frames = (on_disk[0], on_disk[-1]) if on_disk else ()
    return [(frame, pattern.path(frame)) for frame in sorted(set(frames))]


def input_id(path, files, extra=()):
    """The plate's id for ``--input-id``: 16 hex digits of sha1 over ``path`` (what the worker reads),
    ``files`` (``[(label, file)]``: each file's label and ``file_stamp``) and ``extra`` (``"name=value"``
    texts: whatever else the host passes that changes the pixels and the result key does not know)."""
    entries = ["path=" + path]
    entries += ["%s=%s" % (label, file_stamp(name)) for label, name in files]
    entries += list(extra)
    return hashlib.sha1("\0".join(entries).encode("utf-8")).hexdigest()[:16]
