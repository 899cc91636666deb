"""RVMatte for Blender: registration only (see the modules for what each part does)."""

import atexit

import bpy

try:
    from . import rvmatte_hostkit  # noqa: F401
except ImportError:
    raise ImportError("RVMatte: its host kit (rvmatte_hostkit) is missing: this is the repository's source "
                      "folder, not the extension. Build the zip with blender_addon/build.py (or "
                      "tools/build_release.py) and install that (docs/blender.md)") from None

from . import finetune, jobs, operators, panels, people, preferences, properties

_classes = preferences.classes + people.classes + finetune.classes + properties.classes + operators.classes + panels.classes


@bpy.app.handlers.persistent
def _stop_workers_before_load(*_args):
    """Loading another .blend stops every matte worker: no job outlives its file (an engine install
    belongs to no file and goes on)."""
    jobs.stop_all(keep_file_independent=True)


def register():
    for cls in _classes:
        bpy.utils.register_class(cls)
    properties.register_properties()
    panels.register_status()
    bpy.app.handlers.load_pre.append(_stop_workers_before_load)
    atexit.register(jobs.stop_all)


def unregister():
    jobs.stop_all()
    atexit.unregister(jobs.stop_all)
    if _stop_workers_before_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_stop_workers_before_load)
    if bpy.app.timers.is_registered(operators.tick):
        bpy.app.timers.unregister(operators.tick)
    panels.unregister_status()
    properties.unregister_properties()
    for cls in reversed(_classes):
        bpy.utils.unregister_class(cls)
