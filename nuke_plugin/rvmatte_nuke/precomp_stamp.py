"""Whether the plate precomp on disk was rendered from the node's input as it is now, so Generate after
Fine-tune from keyframes (or a second Generate with nothing changed) reads the files already there.

Not only a saving: writers stamp each EXR (a date in its header), so a re-render of the same pictures
gives other bytes, and the worker recognises a tuned checkpoint's shot by the bytes of its plate files at
the keyframes; a needless re-render would make it warn that the tuned weights are for another shot.

One JSON file per precomp folder, `.rvmatte_precomp.json`: {file pattern of a view: the plate hash
(staleness.plate_hash)}. An entry is removed before its view is rendered and written after the render
succeeded, so a cancelled render never passes for a finished one."""
import json
import os

from . import sequences

STAMP = ".rvmatte_precomp.json"


def _view_pattern(pattern, view):
    return sequences.for_view(pattern, view) if view else pattern


def _path(pattern):
    return os.path.join(os.path.dirname(pattern), STAMP)


def _read(pattern):
    try:
        with open(_path(pattern)) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(pattern, data):
    path = _path(pattern)
    folder = os.path.dirname(path)
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder)
        with open(path + ".tmp", "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(path + ".tmp", path)
    except (IOError, OSError):
        pass


def is_current(job, view):
    """True when `view`'s precomp files are all there, rendered from the input as it is now."""
    wanted = _view_pattern(job.precomp_pattern, view)
    if _read(job.precomp_pattern).get(os.path.basename(wanted)) != job.plate_state:
        return False
    return len(sequences.complete_frames(wanted, job.first, job.last)) == job.frame_count


def forget(job, views):
    data = _read(job.precomp_pattern)
    for view in views:
        data.pop(os.path.basename(_view_pattern(job.precomp_pattern, view)), None)
    _write(job.precomp_pattern, data)


def remember(job, views):
    data = _read(job.precomp_pattern)
    for view in views:
        data[os.path.basename(_view_pattern(job.precomp_pattern, view))] = job.plate_state
    _write(job.precomp_pattern, data)
