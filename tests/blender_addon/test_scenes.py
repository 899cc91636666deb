"""Jobs of several scenes (operators.py, jobs.py): filed under a scene's session id, so a rename keeps
its job; one matte worker at a time, the others queued.

The worker here is a small script in the `rvmatte run` worker's place: it speaks the documented
`--progress json` protocol and writes real EXR files (copies of one written by bpy) under the
`--alpha`/`--foreground` patterns for the `--frames` it is given: the first at once, the others
once the file named by $RVMATTE_FAKE_GO exists, so a test decides when the job ends. Given `-o OUT
--versions` it writes them into OUT/v001 with the version's state file and names that version in its
start and done events, as `rvmatte run --versions` does (docs/io.md; the real version choice is
exercised with the real worker in test_versions.py). The add-on's own code (planning, queueing,
wiring, panel) is what runs.
"""

import sys
import time

import bpy
import numpy as np
import pytest

from conftest import save_blend, write_image, write_sequence
from panel_rows import draw

WORKER = """\
#!{python}
import json, os, shutil, sys, time
args = sys.argv[1:]
def opt(flag):
    return args[args.index(flag) + 1]
first, last = map(int, opt("--frames").split("-"))
total = last - first + 1
root = opt("-o") if "--versions" in args else None
version = None
def mark(state):
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    with open(os.path.join(root, "v001", "rvmatte-version.json"), "w") as stream:
        json.dump(dict(key="fake", state=state, frames="", created=now, updated=now, fields={{}}), stream)
if root:
    os.makedirs(os.path.join(root, "v001"), exist_ok=True)
    mark("running")
    version = dict(name="v001", folder=os.path.join(root, "v001"), state="running", reused=False)
def path(flag, frame):
    pattern = opt(flag)
    if root:
        pattern = os.path.join(root, "v001", os.path.relpath(pattern, root))
    return pattern.replace("####", "%04d" % frame)
print(json.dumps(dict(event="start", frames=total, first=first, last=last, output_version=version)), flush=True)
for done, frame in enumerate(range(first, last + 1), 1):
    while done > 1 and not os.path.exists(os.environ["RVMATTE_FAKE_GO"]):
        time.sleep(0.02)
    for flag in ("--alpha", "--foreground"):
        shutil.copyfile({template!r}, path(flag, frame))
    print(json.dumps(dict(event="frame", frame=frame, done=done, total=total, fps=10.0)), flush=True)
    if os.environ.get("RVMATTE_FAKE_CRASH"):
        print("Segmentation fault", file=sys.stderr)
        sys.exit(139)
if root:
    mark("complete")
    version = dict(version, state="complete", removed=[])
print(json.dumps(dict(event="done", frames=total, written=total, skipped=0, seconds=0.1, fps=10.0,
                      output_version=version)), flush=True)
"""


@pytest.fixture
def go(prefs, tmp_path, monkeypatch):
    """The fake worker as the Worker preference; returns the file whose creation lets it write."""
    pixels = np.zeros((18, 32, 4), np.float32)
    pixels[..., 3] = 0.5
    template = write_image(tmp_path / "template.exr", pixels)
    script = tmp_path / "fake-python"
    script.write_text(WORKER.format(python=sys.executable, template=str(template)))
    script.chmod(0o755)
    prefs.worker = str(script)
    monkeypatch.setenv("RVMATTE_FAKE_GO", str(tmp_path / "go"))
    return tmp_path / "go"


def shot(scene, tmp_path, name):
    """`scene` set to matte a 3-frame plate sequence of its own into its own folder."""
    first = write_sequence(tmp_path / name, name, range(1, 4))
    scene.rvmatte.clip = bpy.data.movieclips.load(str(first))
    scene.rvmatte.output_dir = str(tmp_path / name / "out")


def drive(addon, *jobs, timeout=20):
    deadline = time.monotonic() + timeout
    while any(j.running for j in jobs) and time.monotonic() < deadline:
        addon.operators.tick()
        time.sleep(0.02)
    assert not any(j.running for j in jobs), [j.message for j in jobs]


def the_job(addon):
    """The only job filed (whatever the key)."""
    (job,) = addon.operators.scene_jobs.values()
    return job


def workers_running(addon):
    return [j for j in addon.operators.scene_jobs.values()
            if getattr(j, "process", None) is not None and j.process.poll() is None]


def tagged(scene):
    """The add-on's nodes in the scene's compositor."""
    tree = scene.compositing_node_group if hasattr(scene, "compositing_node_group") else scene.node_tree
    return [n for n in tree.nodes if n.get("rvmatte_role")] if tree is not None else []


def test_a_job_survives_a_scene_rename_and_wires_into_the_renamed_scene(addon, go, tmp_path):
    save_blend(tmp_path)
    scene = bpy.context.scene
    shot(scene, tmp_path, "plate")
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = the_job(addon)
    scene.name = "sh010 renamed"
    assert addon.operators.RVMATTE_OT_cancel.poll(bpy.context)     # the panel still sees its job
    go.touch()
    drive(addon, job)
    assert job.state is addon.jobs.JobState.DONE, job.message
    assert {n.get("rvmatte_role") for n in tagged(scene)} >= {"alpha", "foreground", "group"}
    assert addon.operators.job_of(scene) is job


def test_a_second_scene_queues_behind_the_first_and_starts_when_it_ends(addon, go, tmp_path):
    save_blend(tmp_path)
    first_scene = bpy.context.scene
    shot(first_scene, tmp_path, "plate")
    second_scene = bpy.data.scenes.new("sh020")
    shot(second_scene, tmp_path, "other")
    first = addon.operators.start_matte(first_scene)
    second = addon.operators.start_matte(second_scene)
    for _ in range(5):
        addon.operators.tick()
    assert workers_running(addon) == [first]
    assert second.running and second.message == "queued behind plate.0001.exr"
    go.touch()
    drive(addon, first, second)
    assert (first.state, second.state) == (addon.jobs.JobState.DONE,) * 2, (first.message, second.message)
    assert tagged(first_scene) and tagged(second_scene)
    assert second.started is not None and second.finished.written == 3


def test_cancelling_a_queued_job_drops_it_without_starting_a_worker(addon, go, tmp_path):
    save_blend(tmp_path)
    first_scene = bpy.context.scene
    shot(first_scene, tmp_path, "plate")
    second_scene = bpy.data.scenes.new("sh020")
    shot(second_scene, tmp_path, "other")
    first = addon.operators.start_matte(first_scene)
    second = addon.operators.start_matte(second_scene)
    second.cancel()
    assert second.state is addon.jobs.JobState.CANCELLED and second.process is None
    assert second.message == "cancelled before it started"
    go.touch()
    drive(addon, first)
    addon.operators.tick()
    assert second.process is None and not tagged(second_scene)


def test_the_panel_of_a_queued_scene_says_so_and_offers_cancel(addon, go, tmp_path):
    save_blend(tmp_path)
    shot(bpy.context.scene, tmp_path, "plate")
    other = bpy.data.scenes.new("sh020")
    shot(other, tmp_path, "other")
    addon.operators.start_matte(other)
    addon.operators.start_matte(bpy.context.scene)
    rows = draw(addon)
    queued = next(r for r in rows if r["label"].startswith("plate.0001.exr: queued"))
    assert queued["label"] == "plate.0001.exr: queued behind other.0001.exr"
    assert queued["button"] == "CANCEL"
    assert not next(r for r in rows if r["label"] == "Generate Matte")["active"]


def test_loading_another_file_drops_the_queued_jobs_too(addon, go, tmp_path):
    save_blend(tmp_path)
    shot(bpy.context.scene, tmp_path, "plate")
    other = bpy.data.scenes.new("sh020")
    shot(other, tmp_path, "other")
    first = addon.operators.start_matte(bpy.context.scene)
    second = addon.operators.start_matte(other)
    bpy.ops.wm.read_homefile(use_empty=True)
    go.touch()
    addon.operators.tick()
    assert first.process.poll() is not None and second.process is None
    assert addon.jobs.active_jobs() == []


def test_passes_written_but_not_wired_end_as_a_failure_never_with_a_success_mark(addon, go, tmp_path):
    save_blend(tmp_path)
    scene = bpy.context.scene
    shot(scene, tmp_path, "plate")
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = the_job(addon)
    bpy.data.movieclips.remove(scene.rvmatte.clip)          # the source goes while the worker runs
    go.touch()
    drive(addon, job)
    assert job.state is addon.jobs.JobState.FAILED
    assert job.message.startswith(f"passes written to {tmp_path / 'plate' / 'out' / 'v001'}, "
                                  f"but the nodes could not be added")
    outcome = next(r for r in draw(addon) if r["label"].startswith("passes written"))
    assert outcome["icon"] == "ERROR"


def test_a_cancelled_people_job_wires_its_frames_but_offers_no_resume(addon, go, tmp_path):
    """`rvmatte run --resume` takes no People: a people job is versioned like any (nothing was shown, so
    its version's frames on disk are wired), but no Resume is offered."""
    save_blend(tmp_path)
    scene = bpy.context.scene
    shot(scene, tmp_path, "plate")
    scene.rvmatte.people.people = 2
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = the_job(addon)
    while job.done < 1:
        addon.operators.tick()
        time.sleep(0.02)
    bpy.ops.rvmatte.cancel()
    drive(addon, job)
    assert job.state is addon.jobs.JobState.CANCELLED
    assert "--versions" in job.argv
    assert job.message.endswith("; 1 of 3 frames of v001 are wired: no Resume with people, Generate Matte "
                                "redoes them all")
    assert job.nodes["alpha"].frame_duration == 1 and not job.resumable
    assert "Resume" not in [r["label"] for r in draw(addon)]


def test_after_a_crash_the_frames_on_disk_are_wired_and_resume_is_offered(addon, go, tmp_path, monkeypatch):
    monkeypatch.setenv("RVMATTE_FAKE_CRASH", "1")
    save_blend(tmp_path)
    shot(bpy.context.scene, tmp_path, "plate")
    assert bpy.ops.rvmatte.generate() == {"FINISHED"}
    job = the_job(addon)
    drive(addon, job)
    assert job.state is addon.jobs.JobState.FAILED
    assert job.message == ("the worker stopped with exit code 139: Segmentation fault; "
                           "1 of 3 frames of v001 are wired: Resume does the rest")
    assert job.nodes["alpha"].frame_duration == 1
    resume = next(r for r in draw(addon) if r["label"] == "Resume")
    assert resume["properties"] == {"resume": True}
    monkeypatch.delenv("RVMATTE_FAKE_CRASH")
    go.touch()
    assert bpy.ops.rvmatte.generate(resume=True) == {"FINISHED"}
    again = the_job(addon)
    assert "--resume" in again.argv
    drive(addon, again)
    assert again.state is addon.jobs.JobState.DONE and again.nodes["alpha"].frame_duration == 3
