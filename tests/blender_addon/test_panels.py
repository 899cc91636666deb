"""The panel and status bar draw code (panels.py), run against a layout that records each row.

bpy cannot draw UI in background mode; recording the rows still runs the real
draw functions, so a renamed property or operator fails here.
"""

import importlib.util
import sys
import time

import bpy
import pytest

from conftest import ROOT


def _recording_layout():
    spec = importlib.util.spec_from_file_location("docs_images", ROOT / "blender_addon" / "tools" / "docs_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RecordingLayout


RecordingLayout = _recording_layout()


def draw(addon):
    rows = []
    addon.panels.draw_settings(RecordingLayout(rows), bpy.context)
    return rows


def labels(rows):
    return [row["label"] for row in rows]


@pytest.mark.parametrize("source_type, chooser", [("CLIP", "Movie Clip"), ("IMAGE", "Image"), ("NODE", "Image Node")])
def test_panel_offers_the_chooser_of_each_source_type(addon, source_type, chooser):
    bpy.context.scene.rvmatte.source_type = source_type
    shown = labels(draw(addon))
    assert shown[:2] == ["Source", chooser]
    assert {"Frames", "Preroll", "Model", "Auto Downsample", "Downsample Ratio", "Device", "Precision",
            "Foreground", "Output", "Generate Matte"} <= set(shown)


def test_custom_range_shows_start_and_end(addon):
    bpy.context.scene.rvmatte.frame_range = "CUSTOM"
    shown = labels(draw(addon))
    assert shown[shown.index("Frames") + 1: shown.index("Frames") + 3] == ["Start", "End"]


def test_ratio_field_is_inactive_while_auto_downsample_is_on(addon):
    settings = bpy.context.scene.rvmatte
    ratio = next(r for r in draw(addon) if r["label"] == "Downsample Ratio")
    assert not ratio["active"]
    settings.auto_ratio = False
    ratio = next(r for r in draw(addon) if r["label"] == "Downsample Ratio")
    assert ratio["active"]


def test_running_job_shows_progress_and_cancel_and_disables_generate(addon):
    job = addon.jobs.start([sys.executable, "-c",
                            "import json, time\n"
                            "print(json.dumps({'event': 'start', 'frames': 4, 'first': 1, 'last': 4}), flush=True)\n"
                            "print(json.dumps({'event': 'frame', 'frame': 1, 'done': 1, 'total': 4, 'fps': 2.0}),"
                            " flush=True)\n"
                            "time.sleep(30)\n"], label="plate")
    addon.operators.scene_jobs[addon.operators.scene_key(bpy.context.scene)] = job
    while job.done < 1:
        job.poll()
        time.sleep(0.02)
    rows = draw(addon)
    progress = next(r for r in rows if r["kind"] == "progress")
    assert progress["factor"] == 0.25
    assert progress["label"] == "plate: 1/4 frames, 2.0 fps"
    assert progress["button"] == "CANCEL"
    assert not next(r for r in rows if r["label"] == "Generate Matte")["active"]
    status = []
    addon.panels.draw_status(type("Header", (), {"layout": RecordingLayout(status)})(), bpy.context)
    assert status[0]["label"] == "RVMatte plate: 1/4 frames, 2.0 fps"
    job.stop()


def test_finished_job_leaves_its_outcome_in_the_panel(addon):
    job = addon.jobs.start([sys.executable, "-c", "import sys; print('rvmatte: error: bad clip', file=sys.stderr);"
                                                  " sys.exit(1)"], label="plate")
    addon.operators.scene_jobs[addon.operators.scene_key(bpy.context.scene)] = job
    job.wait(20)
    rows = draw(addon)
    assert rows[-1] == {"kind": "label", "label": "bad clip", "icon": "ERROR"}


def test_holdout_and_garbage_rows_follow_the_source_and_show_the_chosen_images(addon, tmp_path):
    shown = draw(addon)
    names = labels(shown)
    assert names[names.index("Movie Clip") + 1: names.index("Movie Clip") + 3] == ["Holdout", "Garbage"]
    assert [r["value"] for r in shown if r["label"] in ("Holdout", "Garbage")] == ["", ""]
    bpy.context.scene.rvmatte.garbage = bpy.data.images.new("Box", 4, 4)
    garbage = next(r for r in draw(addon) if r["label"] == "Garbage")
    assert garbage["value"] == "Box"


def test_a_long_message_wraps_onto_lines_that_fit_the_panel(addon):
    long_error = ("weights file not found: /studio/projects/show/sequences/sq010/sh010/comp/rvmatte/weights/"
                  "rvm_mobilenetv3_tuned_for_this_shot.pth (check the RVMatte add-on preferences)")
    job = addon.jobs.start([sys.executable, "-c", f"import sys; print('rvmatte: error: {long_error}', "
                                                  "file=sys.stderr); sys.exit(1)"], label="plate")
    addon.operators.scene_jobs[addon.operators.scene_key(bpy.context.scene)] = job
    job.wait(20)
    rows = draw(addon)
    lines = rows[next(i for i, r in enumerate(rows) if r.get("icon") == "ERROR"):]
    width = addon.labels.characters(bpy.context)
    assert len(lines) > 1 and all(len(r["label"]) <= width for r in lines)
    assert "".join(r["label"] for r in lines).replace(" ", "") == long_error.replace(" ", "")
    assert [r["icon"] for r in lines] == ["ERROR"] + [""] * (len(lines) - 1)


def test_wrapping_keeps_the_texts_own_lines_and_breaks_a_long_path(installed):
    labels = installed.labels
    assert labels.wrapped("ok python: 3.11\n    fix: choose the weights file", 40) == [
        "ok python: 3.11", "    fix: choose the weights file"]
    assert labels.wrapped("/a/" + "b" * 50, 20) == ["/a/bbbbbbbbbbbbbbbbb", "b" * 20, "b" * 13]


def _versions_shot(tmp_path):
    """A saved file matting a small sequence, and its output folder (nothing in it yet)."""
    from conftest import save_blend, write_sequence

    save_blend(tmp_path)
    first = write_sequence(tmp_path / "plates", "plate", range(1, 3))
    bpy.context.scene.rvmatte.clip = clip = bpy.data.movieclips.load(str(first))
    return tmp_path / "rvmatte" / bpy.path.clean_name(clip.name)


def _version_state(folder, state, updated):
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rvmatte-version.json").write_text(json.dumps(
        {"key": "k" + folder.name, "state": state, "frames": "1", "created": updated, "updated": updated}))


def test_the_panel_rereads_the_versions_when_a_state_file_changes(addon, tmp_path):
    root = _versions_shot(tmp_path)
    _version_state(root / "v001", "cancelled", "2026-12-04T10:00:00.000000Z")
    rows = labels(draw(addon))
    assert "Resume continues v001 (cancelled)" in rows and "Resume" in rows
    _version_state(root / "v001", "complete", "2026-12-04T10:05:00.000000Z")     # another run finished it
    rows = labels(draw(addon))
    assert "Resume" not in rows and not any(r.startswith("Resume continues") for r in rows)


def test_the_panel_names_an_entry_of_the_output_folder_that_is_not_a_version(addon, tmp_path):
    root = _versions_shot(tmp_path)
    root.mkdir(parents=True)
    (root / "v002").write_text("not a folder")
    rows = draw(addon)
    first = next(i for i, r in enumerate(rows) if r.get("icon") == "ERROR")
    text = "".join(r["label"] for r in rows[first:]).replace(" ", "")       # wrapped to the sidebar's width
    assert text.startswith(f"{root / 'v002'}isafile,notaversionfolder".replace(" ", ""))
