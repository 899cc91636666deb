"""Version folders for ``rvmatte run -o OUT --versions`` (docs/io.md).

The version is chosen once the run's result key is known (after the model is loaded, before any
frame is written): the newest ``OUT/v###`` holding that key is reused, whatever its state, and
its frames are kept as ``--resume`` keeps them; a key new to ``OUT`` gets ``v(N+1)``. A folder
appears whole with its state file (made under a temp name, then renamed), so farm tasks of one
job starting together agree on one version. Reading the folders is ``rvmatte_hostkit.versions``'s,
so hosts and the core read them the same way.
"""
from __future__ import annotations

import datetime
import json
import os
import secrets
import shutil
from typing import List, Optional, Sequence

from rvmatte.errors import OutputError
from rvmatte_hostkit.sparse import format_ranges, parse_ranges
from rvmatte_hostkit.versions import (STATE_FILE, Version, VersionError, current, list_versions, version_name,
                                      version_number)


def _now() -> str:
    """UTC to the microsecond, fixed width, so the text sorts as the time does."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _versions(root: str) -> List[Version]:
    try:
        return list_versions(root)
    except VersionError as error:
        raise OutputError(f"--versions: {error}") from None


class RunVersion:
    """The version folder one run writes into, and its state file."""

    def __init__(self, folder: str, state: dict, reused: Optional[str] = None):
        self.folder = folder
        self.name = os.path.basename(folder)
        self.state = state
        self.reused = reused          # the state the folder had before this run; None: made by it

    def describe(self) -> dict:
        """What the progress events say of it."""
        return {"name": self.name, "folder": self.folder, "state": self.state["state"],
                "reused": self.reused is not None}

    def mark(self, state: str, frames: Sequence[int] = (), message: Optional[str] = None) -> None:
        """A new state; ``frames`` join those known complete (also those another run writing this
        version, a farm chunk, recorded since this one began)."""
        from rvmatte.io.writing import write_text_atomically

        done = set(parse_ranges(self.state.get("frames", ""))) | set(frames)
        try:
            with open(os.path.join(self.folder, STATE_FILE), encoding="utf-8") as stream:
                done |= set(parse_ranges(json.load(stream).get("frames", "")))
        except (OSError, ValueError, AttributeError):
            pass
        done = sorted(done)
        self.state.update(state=state, frames=format_ranges(done, limit=len(done) + 1), updated=_now(),
                          message=message or None)
        write_text_atomically(os.path.join(self.folder, STATE_FILE), json.dumps(self.state, indent=1) + "\n")


def check_inside(root: str, outputs) -> None:
    """Every output of a versioned run lies under ``root`` (it goes into the version folder there)."""
    top = os.path.abspath(root)
    for p in outputs.passes:
        path = os.path.abspath(p.spec)
        try:
            inside = os.path.commonpath([top, path]) == top and path != top
        except ValueError:                    # another drive (Windows)
            inside = False
        if not inside:
            raise OutputError(f"--versions {root}: {p.cli_flag()} {p.spec} is not inside {root} "
                              f"(every output of a versioned run goes into its version folder)")


def choose(root: str, key: str, fields: dict) -> RunVersion:
    """The folder for a run with result ``key``: the newest version holding it, else a new one."""
    if os.path.exists(root) and not os.path.isdir(root):
        raise OutputError(f"--versions: {root} is a file, not a folder")
    for _attempt in range(100):
        versions = _versions(root)
        same = [v for v in versions if v.key == key]
        if same:
            chosen = same[-1]
            path = os.path.join(chosen.folder, STATE_FILE)
            try:
                with open(path, encoding="utf-8") as stream:
                    return RunVersion(chosen.folder, json.load(stream), reused=chosen.state)
            except (OSError, ValueError) as error:
                raise OutputError(f"--versions: {path}: cannot read the version's state file ({error})") from None
        created = _create(root, _next_number(root), key, fields)
        if created is not None:
            return created
    raise OutputError(f"--versions: could not create a version folder in {root}")


def _next_number(root: str) -> int:
    """One past every v### name in ``root``, also folders left without a state file."""
    numbers = [version_number(name) for name in os.listdir(root)] if os.path.isdir(root) else []
    return max([n for n in numbers if n is not None], default=0) + 1


def _create(root: str, number: int, key: str, fields: dict) -> Optional[RunVersion]:
    """``root/v<number>`` with its state file, or None when another run took that number first."""
    from rvmatte.io.writing import host_id

    name = version_name(number)
    folder = os.path.join(root, name)
    temp = os.path.join(root, f".{name}.tmp-{host_id()}-{os.getpid()}-{secrets.token_hex(4)}")
    now = _now()
    state = {"key": key, "state": "running", "frames": "", "created": now, "updated": now, "message": None,
             "fields": fields}
    try:
        os.makedirs(temp)
        with open(os.path.join(temp, STATE_FILE), "w", encoding="utf-8") as stream:
            stream.write(json.dumps(state, indent=1) + "\n")
        try:
            os.rename(temp, folder)
        except OSError:
            if os.path.exists(folder):
                return None
            raise
    except OSError as error:
        raise OutputError(f"--versions: cannot create {folder} ({error.strerror or error})") from None
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return RunVersion(folder, state)


def prune(root: str, keep: int, written: RunVersion) -> List[str]:
    """Remove the complete versions changed least recently beyond the ``keep`` newest; never the
    one just ``written`` nor an unfinished one (its frames may be resumed). Returns the removed."""
    complete = sorted((v for v in _versions(root) if v.complete), key=lambda v: (v.updated, v.number))
    removed = []
    for version in complete[:max(len(complete) - keep, 0)]:
        if os.path.samefile(version.folder, written.folder):
            continue
        shutil.rmtree(version.folder)
        removed.append(version.folder)
    return removed


__all__ = ["RunVersion", "choose", "current", "prune"]
