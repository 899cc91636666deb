"""The Generate Matte panel's rows, drawn by its real draw code into the recording layout of
blender_addon/tools/docs_images.py (bpy cannot draw UI in background mode)."""

import importlib.util
from pathlib import Path

import bpy

ROOT = Path(__file__).resolve().parents[2]


def recording_layout():
    spec = importlib.util.spec_from_file_location("docs_images", ROOT / "blender_addon" / "tools" / "docs_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RecordingLayout


def draw(addon):
    rows = []
    addon.panels.draw_settings(recording_layout()(rows), bpy.context)
    return rows
