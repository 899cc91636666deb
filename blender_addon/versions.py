"""The version folders of a shot's output folder, as Generate writes them (docs/blender.md, Versions).

Generate runs `rvmatte run -o OUT --versions`: the passes go into OUT/v001, OUT/v002 … (a new folder
only when the settings' result key is new to OUT; the same key goes back into its folder and keeps
its complete frames). The compositor nodes move to a version only when its job succeeds; after a
cancel or a crash the unfinished version is what Resume continues (the host kit's `resumable`).
A people job (a target, a point, People N) is versioned too, by the people key, but has no Resume:
the worker splits a reused version again in full.

The panel asks on every redraw, so the folder's listing is read again only when a state file changed.
"""

import os
from dataclasses import dataclass
from typing import Optional

import bpy

from . import compositor
from .rvmatte_hostkit import versions as kit


def with_people(settings):
    """Whether the panel's settings make a people job (a target, a point or People N), without resolving
    the source: one the worker cannot resume."""
    people = settings.people
    return people.target is not None or people.use_point or people.people > 0


def people_version(version):
    """Whether a version was written by the people pass (its key's fields hold who is who)."""
    return "people" in version.fields


def version_folder(root, output_version):
    """The folder of the `output_version` a start/done event names, inside `root`; None without one."""
    name = (output_version or {}).get("name") or ""
    if kit.version_number(name) is None:
        return None
    return os.path.join(root, name)


@dataclass(frozen=True)
class Folder:
    """What the panel says of an output folder: its versions, the current and the resumable one."""

    versions: tuple = ()
    current: Optional[kit.Version] = None
    resumable: Optional[kit.Version] = None
    error: str = ""          # the first entry that cannot be read as a version (the next run stops on it)


_cache = {}   # root → (stamp, Folder)


def _stamp(root, names):
    stamp = []
    for name in sorted(names):
        if kit.version_number(name) is None:
            continue
        try:
            info = os.stat(os.path.join(root, name, kit.STATE_FILE))
            stamp.append((name, info.st_ino, info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append((name, os.path.isdir(os.path.join(root, name))))
    return tuple(stamp)


def read(root):
    """The Folder of `root` (empty when it does not exist or holds no version)."""
    try:
        names = os.listdir(root)
    except OSError:
        return Folder()
    stamp = _stamp(root, names)
    cached = _cache.get(root)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    errors = []
    found = kit.list_versions(root, errors)
    folder = Folder(tuple(found), kit.current(found), kit.resumable(found), errors[0] if errors else "")
    _cache[root] = (stamp, folder)
    return folder


def source_name(settings):
    """The panel's source's name (`sources.Source.name`), without reading its files; "" when none is set."""
    if settings.source_type == "CLIP":
        return settings.clip.name if settings.clip else ""
    if settings.source_type == "IMAGE":
        return settings.image.name if settings.image else ""
    return settings.node_name


def source_key(settings):
    """The panel's source as the nodes are tagged (`sources.Source.key`); None when none is set."""
    name = source_name(settings)
    return f"{settings.source_type}:{name}" if name else None


def shown_folder(scene, key):
    """The folder whose passes the alpha node of source `key` shows, or None when none is wired."""
    tree = compositor.compositor_tree(scene)
    if tree is None or key is None:
        return None
    node = next((n for n in tree.nodes if n.get(compositor.TAG) == "alpha"
                 and n.get(compositor.SOURCE_TAG) == key), None)
    image = getattr(node, "image", None)
    if image is None or not image.filepath:
        return None
    return os.path.dirname(os.path.normpath(bpy.path.abspath(image.filepath, library=image.library)))


def same_folder(a, b):
    return os.path.normcase(os.path.normpath(a)) == os.path.normcase(os.path.normpath(b))


def folder_name(root, shown):
    """How the panel names a folder of passes: "v002" (a version of `root`), "the unversioned passes"
    (`root` itself: a scene generated before versions, or a people job before they were versioned), else
    its path."""
    if same_folder(shown, root):
        return "the unversioned passes"
    if same_folder(os.path.dirname(os.path.normpath(shown)), root) \
            and kit.version_number(os.path.basename(os.path.normpath(shown))) is not None:
        return os.path.basename(os.path.normpath(shown))
    return shown


STATE_WORDS = {"running": "interrupted", "failed": "failed", "cancelled": "cancelled"}


def resumable_text(version):
    """"Resume continues v003 (cancelled)": short, a sidebar is narrow (labels.py wraps longer ones)."""
    return f"Resume continues {version.name} ({STATE_WORDS.get(version.state, version.state)})"


def made_from_other_plate(version, input_id):
    """Whether ``version`` recorded a plate id (``--input-id``) other than ``input_id``: Resume could
    not continue it, the worker starts a new version (a version from before plate ids never is)."""
    made_from = version.fields.get("input_id") if version is not None else None
    return bool(made_from) and made_from != input_id


def plate_changed_text(version):
    """What the panel says when the unfinished version was made from other plate files."""
    return (f"{version.name} {STATE_WORDS.get(version.state, version.state)}, but the plate's files changed "
            f"since: Generate Matte makes a new version")


def no_resume_text(version):
    """What the panel says of an unfinished people version: no Resume (the split is redone in full)."""
    return (f"{version.name} {STATE_WORDS.get(version.state, version.state)}: a people run has no Resume, "
            f"Generate Matte redoes every frame")
