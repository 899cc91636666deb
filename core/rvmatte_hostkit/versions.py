"""The version folders of ``rvmatte run -o OUT --versions``, read for hosts and the core.

A versioned run writes into ``OUT/v001``, ``OUT/v002``, … (docs/io.md): a new folder only when
its result key is new to ``OUT``; a rerun with the same key goes back into the folder that has it
(resuming its frames). Each folder holds ``rvmatte-version.json``: the key and its fields, the
state (``running``, ``complete``, ``failed``, ``cancelled``), the frames known complete, and when
it was created and last changed. Versions are ranked by that last change, not by number: going
back to earlier settings reuses their folder, which then becomes the current one again.

  current(versions)     the complete version changed last: what a host's Reads show
  resumable(versions)   an unfinished version changed after the current one: what Resume continues
  relocated(root, folder, path)   a path under OUT at the same place in a version folder
"""
import json
import os
import re

STATE_FILE = "rvmatte-version.json"
STATES = ("running", "complete", "failed", "cancelled")
_NAME = re.compile(r"^v(\d{3,})$")


class VersionError(ValueError):
    """A version folder that cannot be read; the message is one line naming the path."""


class Version(object):
    """One ``OUT/v###`` folder as its state file describes it."""

    def __init__(self, folder, number, state):
        self.folder = folder
        self.number = number
        self.name = version_name(number)
        self.key = state["key"]
        self.state = state["state"]
        self.fields = state.get("fields") or {}
        self.frames = state.get("frames", "")
        self.created = state.get("created", "")
        self.updated = state.get("updated", "")
        self.message = state.get("message") or ""

    @property
    def complete(self):
        return self.state == "complete"

    def __repr__(self):
        return "Version(%s, %s, key %s)" % (self.name, self.state, self.key)


def version_name(number):
    """1 → ``v001``; past 999 the number just grows (``v1000``)."""
    return "v%03d" % number


def version_number(name):
    """``v012`` → 12; None for any other name."""
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def read_version(folder):
    """The Version of one folder; VersionError when its state file is missing or unreadable."""
    number = version_number(os.path.basename(os.path.normpath(folder)))
    path = os.path.join(folder, STATE_FILE)
    try:
        with open(path, encoding="utf-8") as stream:
            state = json.load(stream)
    except (OSError, UnicodeDecodeError) as error:
        raise VersionError("%s: cannot read the version's state file (%s)" % (path, getattr(error, "strerror", None)
                                                                              or error))
    except ValueError as error:
        raise VersionError("%s: the version's state file is not valid JSON (%s)" % (path, error))
    if (not isinstance(state, dict) or not isinstance(state.get("key"), str)
            or state.get("state") not in STATES):
        raise VersionError("%s: not a version state file (it needs a key and a state: %s)"
                           % (path, ", ".join(STATES)))
    return Version(folder, number, state)


def list_versions(root, errors=None):
    """The versions under ``root`` by number ([] when it does not exist). A ``v###`` folder without
    a state file is not one (rvmatte never leaves one: a version appears with its state). Entries
    that cannot be read as one (a file, a state file that is unreadable or not a version's) raise
    VersionError, or, given a list ``errors``, are skipped with their message appended to it."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    versions = []
    for name in names:
        number = version_number(name)
        if number is None:
            continue
        folder = os.path.join(root, name)
        try:
            if not os.path.isdir(folder):
                raise VersionError("%s is a file, not a version folder: move it out of %s" % (folder, root))
            if not os.path.lexists(os.path.join(folder, STATE_FILE)):
                continue
            versions.append(read_version(folder))
        except VersionError as error:
            if errors is None:
                raise
            errors.append(str(error))
    return sorted(versions, key=lambda v: v.number)


def relocated(root, folder, path):
    """``path`` (under ``root``, the run's ``-o OUT``) at the same place under the version ``folder``:
    where a versioned run writes, and reads, a pass it was given as under OUT."""
    return os.path.join(folder, os.path.relpath(os.path.abspath(path), os.path.abspath(root)))


def _latest(versions):
    return max(versions, key=lambda v: (v.updated, v.number)) if versions else None


def current(versions):
    """The complete version changed last (None: none is complete)."""
    return _latest([v for v in versions if v.complete])


def resumable(versions):
    """The unfinished version (failed, cancelled, or ``running`` where its run was killed) changed
    after the current one, or None: rerunning with its settings continues it."""
    now = current(versions)
    unfinished = _latest([v for v in versions if not v.complete])
    if unfinished is None or (now is not None and (unfinished.updated, unfinished.number) < (now.updated, now.number)):
        return None
    return unfinished
