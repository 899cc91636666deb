"""A farm job for the selected RVMatte nodes: per node and view, an rvmatte
step (licence-free, chunked with preroll by the core's farm tools), preceded
by a Nuke precomp step when the input is not a usable Read. A node that uses
tuned weights (keyframes set, "use tuned weights" on) sends its keyframes,
rendered here at submission, and the farm fine-tunes the shot first in one
task its matte tasks wait for. The node then picks up what the farm rendered
with its Load results button."""
import json
import os
import shutil
import subprocess
import sys
import threading

import nuke

from . import finetune as tuning, jobs, keyframes, node as rvnode, people, precomp, wiring

HERE = os.path.dirname(os.path.abspath(__file__))
FARM_DEVICES = {"auto": "cuda", "preferences": "cuda"}


class FarmError(Exception):
    pass


def run_args(job, view_job):
    """`rvmatte run` options the farm passes through unchanged (run_args)."""
    options = job.options
    args = ["--input-colorspace", view_job.input_colorspace, "--output-colorspace", job.working_space,
            "--variant", options["variant"], "--precision", options["precision"],
            "--downsample-ratio", options["downsample_ratio"], "--foreground-source", options["foreground_source"]]
    if job.ocio_config:
        args += ["--ocio-config", job.ocio_config]
    for name in ("holdout", "garbage"):
        if view_job.masks.get(name):
            args += ["--" + name, view_job.masks[name]]
    return args + people.run_args(job, view_job)


def finetune_args(job, view_job, steps):
    """`rvmatte finetune` options of the farm's fine-tune task (the task sets the plate, keyframes,
    output, weights and device itself): the ratio, precision and colour conversion the matte runs use."""
    options = job.options
    args = ["--variant", options["variant"], "--precision", options["precision"],
            "--downsample-ratio", options["downsample_ratio"], "--input-colorspace", view_job.input_colorspace]
    if job.ocio_config:
        args += ["--ocio-config", job.ocio_config]
    if steps:
        args += ["--steps", str(steps)]
    return args


def shot_entries(group, job):
    entries = []
    steps = int(group["finetune_steps"].value()) if group.knob("finetune_steps") is not None else 0
    for view_job in job.views:
        tuned = {}
        if job.keyframe_frames:
            tuned = {"keyframes": tuning.view_pattern(job.keyframes_pattern, view_job.view),
                     "finetune_args": finetune_args(job, view_job, steps)}
        entries.append(dict(tuned, **{
            "name": group.name() + ("_" + view_job.view if view_job.view else ""),
            "node": group.fullName(),
            "view": view_job.view,
            "input": view_job.plate,
            "first": job.first,
            "last": job.last,
            "output_dir": job.output_dir,
            "run_args": run_args(job, view_job),
            "precomp_pattern": job.precomp_pattern if view_job.precomp else None,
            # versions as a Generate writes them; the farm's people steps cannot yet (the core refuses)
            "versions": not job.people_job,
            "keep_versions": (job.keep_versions or None) if not job.people_job else None,
        }))
    return entries


def default_bundle_dir():
    script = nuke.root()["name"].value()
    stem = os.path.splitext(os.path.basename(script))[0]
    return os.path.join(os.path.dirname(script), "rvmatte_farm", stem)


def write_job(groups, bundle_dir=None, chunk_size=100, preroll=16):
    """Writes the job bundle; returns (bundle folder, the worker's answer). Blocks while the core's
    bundle writer runs: the menu command (write_job_for_selected) runs that part in a thread."""
    prepared = prepare_job(groups, bundle_dir, chunk_size, preroll)
    answer = _run_bundle_writer(prepared.python, prepared.spec_path)
    return finish_job(prepared, answer), answer


class PreparedJob(object):
    """What the main thread gathers before the bundle writer runs: the nodes' jobs and the spec file."""

    def __init__(self, collected, bundle_dir, spec_path, python):
        self.collected, self.bundle_dir, self.spec_path, self.python = collected, bundle_dir, spec_path, python


def prepare_job(groups, bundle_dir=None, chunk_size=100, preroll=16):
    """The main-thread part: saves the script, collects each node's job, renders the keyframes and
    writes the spec the core's bundle writer reads."""
    if not groups:
        raise FarmError("select one or more RVMatte nodes")
    if not nuke.root()["name"].value():
        raise FarmError("save the script first: the farm renders from the saved script")
    nuke.scriptSave()
    collected = []
    for group in groups:
        try:
            job = jobs.collect(group, tuned=False)
        except jobs.JobError as exc:
            raise FarmError("%s: %s" % (group.name(), exc))
        if keyframes.wanted(group) and not job.keyframe_frames:
            raise FarmError("%s: use tuned weights is on: connect the keyframes input and set the keyframe frames "
                            "so the farm fine-tunes the shot first, or turn it off to render with the base weights"
                            % group.name())
        unread = job.mask_precomps()
        if unread:
            mask = unread[0]
            raise FarmError("%s: farm jobs take the %s matte from a Read of an image sequence only (%s); "
                            "render it to EXRs and read those" % (group.name(), mask.name, mask.shortcut_reason))
        if not job.options["weights"] or not os.path.isfile(job.options["weights"]):
            raise FarmError("%s: farm jobs send the weights file with the job; set the weights knob or "
                            "RVMatte > Preferences (now %r)" % (group.name(), job.options["weights"]))
        collected.append((group, job))
    for group, job in collected:
        if job.keyframe_frames:
            try:
                tuning.render_keyframes(group, job.keyframes_pattern, job.keyframe_frames,
                                        [v.view for v in job.views if v.view])
            except precomp.PrecompError as exc:
                raise FarmError("%s: keyframes: %s" % (group.name(), exc))
    bundle_dir = bundle_dir or default_bundle_dir()
    if not os.path.isdir(bundle_dir):
        os.makedirs(bundle_dir)
    first_job = collected[0][1]
    device = FARM_DEVICES.get(first_job.options["device"], first_job.options["device"])
    entries = [entry for group, job in collected for entry in shot_entries(group, job)]
    spec = {"bundle": bundle_dir, "shots": entries, "weights": first_job.options["weights"], "device": device,
            "rvmatte_command": "rvmatte", "chunk_size": chunk_size, "preroll": preroll,
            "nuke_script": nuke.root()["name"].value(), "nuke_executable": _nuke_executable(),
            "precomp_script": os.path.join(bundle_dir, "rvmatte_precomp.py"),
            "job_name": "RVMatte " + os.path.basename(nuke.root()["name"].value())}
    if any(entry["precomp_pattern"] for entry in entries):
        shutil.copyfile(os.path.join(HERE, "precomp.py"), spec["precomp_script"])
    spec_path = os.path.join(bundle_dir, "rvmatte_nuke_spec.json")
    with open(spec_path, "w") as handle:
        json.dump(spec, handle, indent=2)
    return PreparedJob(collected, bundle_dir, spec_path, first_job.python)


def finish_job(prepared, answer):
    """The main-thread part after the writer: each node's sidecar (for Load results) and status."""
    for group, job in prepared.collected:
        _write_sidecar(group, job, answer["writes"], prepared.bundle_dir)
    return prepared.bundle_dir


def _nuke_executable():
    executable = getattr(sys, "executable", "") or ""
    return executable if "nuke" in os.path.basename(executable).lower() else "nuke"


def _run_bundle_writer(python, spec_path):
    from .rvmatte_hostkit.environment import worker_environment

    done = subprocess.run([python, os.path.join(HERE, "farm_bundle.py"), spec_path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, encoding="utf-8", errors="replace",
                          env=worker_environment())
    if done.returncode != 0:
        lines = [l.strip() for l in done.stderr.splitlines() if l.strip()]
        line = lines[-1] if lines else "exit code %d" % done.returncode
        raise FarmError(line[len("rvmatte: error:"):].strip() if line.startswith("rvmatte: error:") else line)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _view_pattern(per_view):
    """One Read pattern for every view (%V in place of the view's name)."""
    if list(per_view) == [None]:
        return per_view[None]
    found = set()
    for view, path in per_view.items():
        folder, name = os.path.split(path)
        index = name.rfind(view)
        if index < 0:
            raise FarmError("cannot tell view %s apart in %s" % (view, path))
        found.add(os.path.join(folder, name[:index] + "%V" + name[index + len(view):]))
    if len(found) != 1:
        raise FarmError("the views' outputs do not share one pattern: %s" % ", ".join(sorted(found)))
    return found.pop()


def _write_sidecar(group, job, writes, bundle_dir):
    alpha, foreground = {}, {}
    for entry in shot_entries(group, job):
        shot = writes[_safe(entry["name"])]
        alpha[entry["view"]], foreground[entry["view"]] = shot["alpha"], shot["foreground"]
    if not os.path.isdir(job.output_dir):
        os.makedirs(job.output_dir)
    data = {"alpha": _view_pattern(alpha), "foreground": _view_pattern(foreground), "first": job.first,
            "last": job.last, "state": job.state, "farm_bundle": bundle_dir,
            "versions": not job.people_job}
    with open(os.path.join(job.output_dir, wiring.SIDECAR % group.name()), "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    wiring.set_status(group, "farm job written: %s" % bundle_dir)


def _safe(name):
    """The core's safe_name for the names this module makes (letters, digits, _ . -)."""
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "_" for c in name).strip("._-")
    return cleaned or "shot"


def write_job_for_selected():
    """RVMatte > Write farm job: the nodes are collected (and the script saved) here; the core's
    bundle writer, a separate Python process that takes seconds, runs in a thread with a progress
    task so Nuke stays usable; the sidecars and the message come back on the main thread.
    Returns the thread (None when nothing was started)."""
    groups = [n for n in nuke.selectedNodes() if rvnode.is_rvmatte(n)]
    try:
        prepared = prepare_job(groups)
    except (FarmError, OSError) as exc:
        nuke.message("RVMatte farm job: %s" % exc)
        return None
    thread = threading.Thread(target=_write_in_background, args=(prepared,), name="rvmatte-farm-job")
    thread.daemon = True
    thread.start()
    return thread


def _write_in_background(prepared):
    task = nuke.ProgressTask("RVMatte farm job")
    task.setMessage("writing the job bundle")
    try:
        answer = _run_bundle_writer(prepared.python, prepared.spec_path)
    except (FarmError, OSError, ValueError) as exc:
        nuke.executeInMainThread(nuke.message, ("RVMatte farm job: %s" % exc,))
        return
    except Exception as exc:  # noqa: BLE001 - a thread's exception would vanish into Nuke's console
        nuke.executeInMainThread(nuke.message, ("RVMatte farm job: internal error: %s: %s"
                                                % (type(exc).__name__, exc),))
        return
    finally:
        del task
    nuke.executeInMainThread(_report_written, (prepared, answer))


def _report_written(prepared, answer):
    try:
        bundle_dir = finish_job(prepared, answer)
    except (FarmError, OSError) as exc:
        nuke.message("RVMatte farm job: %s" % exc)
        return
    nuke.message("RVMatte farm job written to\n%s\n\nSubmit it (e.g. `deadline bundle submit %s`, or "
                 "`openjd run`); when the farm is done, press Load results on each node." % (bundle_dir, bundle_dir))
