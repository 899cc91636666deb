"""What a wrangler checks in the morning: per shot, which frames are done, missing or damaged.

A frame is *done* when every pass the shot writes reads back whole, *damaged*
when a pass file exists but does not read back (a truncated or corrupt file),
and *missing* otherwise. Shots come from the ``rvmatte_plan.json`` that every
farm writer leaves beside its job files, or, for a plain output folder, from the
``<name>.alpha.####.exr`` / ``<name>.fgr.####.exr`` sequences found in it and in
its sub-folders (then "missing" can only mean a gap between found frames).

A whole frame made with *other settings* is not done either: every pass file carries
the result key of the run that made it (EXR header, or a ``.rvmatte/`` sidecar), and
the shot's key is the one its plan entry gives (``result_key``) or else the key of
the most recently written frame, i.e. of the last run's settings. Frames whose key
differs (or that have none while others have one) are listed as ``other_settings``;
``rvmatte run --resume`` with the shot's settings redoes exactly those.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from ..errors import InputError
from .plan import format_frame_list
from .shots import Shot

PLAN_FILE = "rvmatte_plan.json"
_PASS_SUFFIX = {"alpha": "alpha", "fgr": "foreground"}
_OUTPUT_FILE = re.compile(r"^(?P<name>.+)\.(?P<pass>alpha|fgr)\.(?P<frame>\d+)\.exr$")
_TEMP_FILE = re.compile(r"^\..+\.tmp-.+")


@dataclass
class ShotStatus:
    name: str
    output_dir: str
    frames: list[int]
    done: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)
    stale_temp_files: int = 0
    other_settings: list[int] = field(default_factory=list)
    #: (frame, QC score) of the done frames worst first (``rvmatte/qc_score`` in their headers), at most CHECK_FRAMES
    to_check: list[tuple[int, float]] = field(default_factory=list)
    #: A versioned shot (``rvmatte farm … --versions``): its version changed last (``v003``; None: none yet)
    #: and that version's state; its frames are checked in that folder, against that version's key.
    versioned: bool = False
    version: str | None = None
    version_state: str | None = None

    @property
    def complete(self) -> bool:
        frames = not self.missing and not self.damaged and not self.other_settings
        return frames and (not self.versioned or self.version_state == "complete")

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "output_dir": self.output_dir,
            "frames": len(self.frames),
            "done": format_frame_list(self.done),
            "missing": format_frame_list(self.missing),
            "damaged": format_frame_list(self.damaged),
            "done_count": len(self.done),
            "missing_count": len(self.missing),
            "damaged_count": len(self.damaged),
            "other_settings": format_frame_list(self.other_settings),
            "other_settings_count": len(self.other_settings),
            "stale_temp_files": self.stale_temp_files,
            "complete": self.complete,
            "check": [{"frame": frame, "score": score} for frame, score in self.to_check],
            **({"version": self.version, "version_state": self.version_state} if self.versioned else {}),
        }


def plan_document(shots: list[Shot], division: str) -> dict:
    """The ``rvmatte_plan.json`` content: every shot, its frames, chunks and passes."""
    return {
        "rvmatte_plan": 1,
        "shots": [
            {**shot.as_dict(), "writes": shot.writes(), "chunks": [c.as_dict() for c in shot.chunks(division)]}
            for shot in shots
        ],
    }


def frame_state(paths_and_channels: list[tuple[str, tuple[str, ...]]]) -> str:
    """``done``, ``damaged`` or ``missing`` for one frame's pass files."""
    from ..io.writing import frame_is_complete

    state = "done"
    for path, channels in paths_and_channels:
        if not os.path.exists(path):
            state = "missing" if state == "done" else state
        elif not frame_is_complete(path, channels):
            return "damaged"
    return state


def shot_status(name: str, output_dir: str, frames: list[int], writes: dict[str, str],
                result_key: str | None = None) -> ShotStatus:
    """Check every frame of one shot; ``writes`` maps pass names to ``####`` patterns. ``result_key``:
    the key the shot's frames must carry (default: that of the most recently written frame)."""
    from ..passes import exr_channels

    channels = exr_channels()       # what a whole file of each pass holds (the people pass: not checked)
    status = ShotStatus(name, output_dir, sorted(frames))
    for frame in status.frames:
        files = [(_frame_path(pattern, frame), channels.get(kind)) for kind, pattern in writes.items()]
        getattr(status, frame_state(files)).append(frame)
    _flag_other_settings(status, writes, result_key)
    status.to_check = _frames_to_check(status.done, writes)
    folders = {os.path.dirname(pattern) for pattern in writes.values()}
    status.stale_temp_files = sum(_count_temp_files(folder) for folder in folders)
    return status


def check(target: str) -> list[ShotStatus]:
    """Status of every shot of a job folder, a plan file, or an output folder."""
    plan_path = target if os.path.isfile(target) else os.path.join(target, PLAN_FILE)
    if os.path.isfile(plan_path):
        return [
            versioned_status(entry) if entry.get("versions") else
            shot_status(entry["name"], entry["output_dir"], entry["frames"], entry["writes"], entry.get("result_key"))
            for entry in read_plan(plan_path)
        ]
    if not os.path.isdir(target):
        raise InputError(f"nothing to check at {target}: give a job folder, its {PLAN_FILE}, or an output folder")
    found = _discover(target)
    if not found:
        raise InputError(f"no {PLAN_FILE} and no <name>.alpha.####.exr / <name>.fgr.####.exr files in {target}")
    statuses = []
    for (folder, name), passes in sorted(found.items()):
        frames = sorted(set().union(*passes.values()))
        writes = {kind: os.path.join(folder, f"{name}.{suffix}.####.exr") for suffix, kind in _PASS_SUFFIX.items()
                  if kind in passes}
        label = name if folder == os.path.abspath(target) else f"{os.path.relpath(folder, target)}/{name}"
        statuses.append(shot_status(label, folder, list(range(frames[0], frames[-1] + 1)), writes))
    return statuses


def versioned_status(entry: dict) -> ShotStatus:
    """A versioned shot's status: the frames in the version folder of its output folder changed last
    (the one its job's tasks wrote, unless another job of the shot ran since), checked against that
    version's result key, with the version's name and state; every frame missing while there is none."""
    from rvmatte_hostkit.versions import list_versions

    root = entry["output_dir"]
    errors: list[str] = []
    versions = list_versions(root, errors)
    if errors:
        raise InputError(f"{entry['name']}: {errors[0]}")
    if not versions:
        status = ShotStatus(entry["name"], root, sorted(entry["frames"]), missing=sorted(entry["frames"]))
    else:
        latest = max(versions, key=lambda v: (v.updated, v.number))
        writes = {kind: os.path.join(latest.folder, os.path.relpath(pattern, root))
                  for kind, pattern in entry["writes"].items()}
        status = shot_status(entry["name"], latest.folder, entry["frames"], writes, latest.key)
        status.version, status.version_state = latest.name, latest.state
    status.versioned = True
    return status


def read_plan(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        shots = data["shots"]
        for entry in shots:
            entry["name"], entry["output_dir"], entry["frames"], entry["writes"]
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path} is not an rvmatte plan (written by `rvmatte farm openjd|deadline|opencue`)") from None
    return shots


def report_lines(statuses: list[ShotStatus]) -> list[str]:
    """One line per shot, then a total, for people."""
    lines = []
    for s in statuses:
        text = f"{s.name}: {len(s.done)}/{len(s.frames)} done"
        if s.versioned:
            text += f", version {s.version} {s.version_state}" if s.version else ", no version yet"
        if s.missing:
            text += f", missing {format_frame_list(s.missing)}"
        if s.damaged:
            text += f", damaged {format_frame_list(s.damaged)}"
        if s.other_settings:
            text += f", made with other settings {format_frame_list(s.other_settings)}"
        if s.stale_temp_files:
            text += f" ({s.stale_temp_files} temporary files left by killed tasks)"
        lines.append(text + f"  [{s.output_dir}]")
        if s.to_check:
            lines.append("  check first: " + ", ".join(f"{frame} ({score:.3g})" for frame, score in s.to_check))
    complete = sum(s.complete for s in statuses)
    lines.append(f"{complete}/{len(statuses)} shots complete")
    return lines


def _flag_other_settings(status: ShotStatus, writes: dict[str, str], result_key: str | None) -> None:
    """Move the done frames whose files carry another result key than the shot's to other_settings."""
    from ..io.stamp import stored_result

    keys: dict[int, set] = {}
    newest = (-1, None)
    for frame in status.done:
        keys[frame] = set()
        for pattern in writes.values():
            path = _frame_path(pattern, frame)
            key = stored_result(path)[0]
            keys[frame].add(key)
            if key is not None and result_key is None:
                mtime = os.stat(path).st_mtime_ns
                newest = max(newest, (mtime, key), key=lambda item: item[0])
    wanted = result_key or newest[1]
    if wanted is None:      # frames from before result keys: nothing to compare
        return
    other = [frame for frame in status.done if keys[frame] != {wanted}]
    status.other_settings = other
    status.done = [frame for frame in status.done if frame not in set(other)]


CHECK_FRAMES = 10


def _frames_to_check(done: list[int], writes: dict[str, str]) -> list[tuple[int, float]]:
    """The done frames with the highest QC score in the header of their first EXR pass, worst first."""
    import OpenImageIO as oiio

    patterns = [p for p in writes.values() if p.lower().endswith(".exr")]
    if not patterns:
        return []
    scores = []
    for frame in done:
        inp = oiio.ImageInput.open(_frame_path(patterns[0], frame))
        if inp is None:
            oiio.geterror()
            continue
        try:
            value = inp.spec().getattribute("rvmatte/qc_score")
        finally:
            inp.close()
        if isinstance(value, float):
            scores.append((frame, round(value, 6)))
    return sorted(scores, key=lambda item: (-item[1], item[0]))[:CHECK_FRAMES]


def _frame_path(pattern: str, frame: int) -> str:
    hashes = re.search(r"#+", pattern)
    if not hashes:
        return pattern
    width = hashes.end() - hashes.start()
    return pattern[: hashes.start()] + f"{frame:0{width}d}" + pattern[hashes.end() :]


def _count_temp_files(folder: str) -> int:
    try:
        return sum(1 for name in os.listdir(folder) if _TEMP_FILE.match(name))
    except OSError:
        return 0


def _discover(root: str) -> dict[tuple[str, str], dict[str, set[int]]]:
    """``{(folder, name): {pass: frames}}`` for output sequences in ``root`` and its sub-folders."""
    found: dict[tuple[str, str], dict[str, set[int]]] = {}
    root = os.path.abspath(root)
    for folder, subfolders, names in os.walk(root):
        if folder.count(os.sep) - root.count(os.sep) >= 2:
            subfolders[:] = []
        for name in names:
            match = _OUTPUT_FILE.match(name)
            if match and not name.startswith("."):
                passes = found.setdefault((folder, match["name"]), {})
                passes.setdefault(_PASS_SUFFIX[match["pass"]], set()).add(int(match["frame"]))
    return found
