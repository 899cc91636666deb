"""Version folders for ``rvmatte run -o OUT --versions`` (docs/io.md).

The version is chosen once the run's result key is known (after the model is loaded, before any
frame is written): the newest ``OUT/v###`` holding that key is reused, whatever its state, and
its frames are kept as ``--resume`` keeps them; a key new to ``OUT`` gets ``v(N+1)``. A folder
appears whole with its state file (made under a temp name, then renamed), so farm tasks of one
job starting together agree on one version. Reading the folders is ``rvmatte_hostkit.versions``'s,
so hosts and the core read them the same way.

A farm job (``rvmatte farm … --versions``) splits this over its tasks (``rvmatte run --version-step``):
one ``choose`` task fixes the folder before any chunk starts, each ``chunk`` task writes into the
version holding its key (``find``; it never makes one) and records its frames without changing the
state, and one ``finish`` task, after every chunk, checks every frame and marks the version complete.
Changes to the state file are made under a lock file, so chunks ending together keep each other's frames.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import shutil
import time
from typing import List, Optional, Sequence

from rvmatte.errors import OutputError
from rvmatte_hostkit.sparse import format_ranges, parse_ranges
from rvmatte_hostkit.versions import (STATE_FILE, STATES, Version, VersionError, current, list_versions,  # noqa: F401
                                      relocated, version_name, version_number)


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

    def mark(self, state: Optional[str], frames: Sequence[int] = (), message: Optional[str] = None,
             replace: bool = False) -> None:
        """A new state (None: the one on disk, as another task of the job left it); ``frames`` join
        those known complete (also those another run writing this version, a farm chunk, recorded
        since this one began), or, with ``replace``, become them (a farm job's finish task, which
        checked every frame)."""
        from rvmatte.io.writing import write_text_atomically

        with _locked(self.folder):
            on_disk = {}
            try:
                with open(os.path.join(self.folder, STATE_FILE), encoding="utf-8") as stream:
                    on_disk = json.load(stream)
                if not isinstance(on_disk, dict):
                    on_disk = {}
            except (OSError, ValueError):
                pass
            done = set(frames)
            if not replace:
                done |= set(parse_ranges(self.state.get("frames", "")))
                try:
                    done |= set(parse_ranges(on_disk.get("frames", "")))
                except (ValueError, AttributeError, TypeError):
                    pass
            if state is None:
                state = on_disk.get("state") if on_disk.get("state") in STATES else self.state["state"]
                message = message or on_disk.get("message")
            done = sorted(done)
            self.state.update(state=state, frames=format_ranges(done, limit=len(done) + 1), updated=_now(),
                              message=message or None)
            write_text_atomically(os.path.join(self.folder, STATE_FILE), json.dumps(self.state, indent=1) + "\n")

    def stopped(self, error: BaseException, frames: Sequence[int]) -> None:
        """The run writing it stopped early with ``error``: cancelled (a host's cancel, Ctrl-C) or
        failed with the error's first line, ``frames`` complete on disk (a host offers Resume)."""
        text = str(error).strip()
        self.mark("cancelled" if isinstance(error, KeyboardInterrupt) else "failed", frames,
                  text.splitlines()[0] if text else type(error).__name__)


#: Beside the state file while a run changes it; one left by a killed run is taken over after STALE_LOCK_S.
LOCK_FILE = ".rvmatte-version.lock"
STALE_LOCK_S = 30.0


@contextlib.contextmanager
def _locked(folder: str, wait_s: float = 120.0):
    """Only one run at a time reads and rewrites ``folder``'s state file (create-exclusive lock file,
    which shared file systems honour too)."""
    path = os.path.join(folder, LOCK_FILE)
    give_up = time.monotonic() + wait_s
    while True:
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            break
        except FileExistsError:
            try:
                if time.time() - os.stat(path).st_mtime > STALE_LOCK_S:
                    os.remove(path)
                    continue
            except OSError:
                continue                      # released (or taken over) meanwhile: try again
            if time.monotonic() > give_up:
                raise OutputError(f"--versions: {path} has been locked for {wait_s:.0f} s (remove it if no "
                                  f"rvmatte run is writing {folder})") from None
            time.sleep(0.02)
        except OSError as error:
            raise OutputError(f"--versions: cannot lock {path} ({error.strerror or error})") from None
    try:
        yield
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


def check_inside(root: str, outputs) -> None:
    """Every output of a versioned run lies under ``root`` (it goes into the version folder there)."""
    check_paths_inside(root, [(p.cli_flag(), p.spec) for p in outputs.passes])


def check_paths_inside(root: str, named: Sequence[tuple]) -> None:
    """Each (flag, path) of ``named`` lies under ``root``; OutputError naming the first that does not."""
    top = os.path.abspath(root)
    for flag, spec in named:
        path = os.path.abspath(spec)
        try:
            inside = os.path.commonpath([top, path]) == top and path != top
        except ValueError:                    # another drive (Windows)
            inside = False
        if not inside:
            raise OutputError(f"--versions {root}: {flag} {spec} is not inside {root} "
                              f"(every output of a versioned run goes into its version folder)")


def choose(root: str, key: str, fields: dict) -> RunVersion:
    """The folder for a run with result ``key``: the newest version holding it, else a new one."""
    if os.path.exists(root) and not os.path.isdir(root):
        raise OutputError(f"--versions: {root} is a file, not a folder")
    for _attempt in range(100):
        versions = _versions(root)
        same = [v for v in versions if v.key == key]
        if same:
            return _open(same[-1])
        created = _create(root, _next_number(root), key, fields)
        if created is not None:
            return created
    raise OutputError(f"--versions: could not create a version folder in {root}")


def find(root: str, key: str) -> RunVersion:
    """The newest version holding ``key``, never a new one: what a farm job's chunk and finish tasks
    write into, after its choose task made or picked it. OutputError when there is none."""
    same = [v for v in _versions(root) if v.key == key]
    if not same:
        raise OutputError(f"--version-step: no version in {root} holds this run's result key {key}: the job's "
                          f"version task (--version-step choose) must run first, with the same settings")
    return _open(same[-1])


def _open(chosen: Version) -> RunVersion:
    path = os.path.join(chosen.folder, STATE_FILE)
    try:
        with open(path, encoding="utf-8") as stream:
            return RunVersion(chosen.folder, json.load(stream), reused=chosen.state)
    except (OSError, ValueError) as error:
        raise OutputError(f"--versions: {path}: cannot read the version's state file ({error})") from None


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


__all__ = ["RunVersion", "check_inside", "check_paths_inside", "choose", "current", "find", "prune", "relocated"]
