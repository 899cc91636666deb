"""What one Fine-tune from keyframes does (the button: generate.finetune): read from the node in the
main thread, the keyframes input rendered on exactly the keyframe frames (channel A), the plate's
precomp when Generate would need one, then `rvmatte finetune` in the background; its end back onto
the node (keyframes.remember) in the main thread.

In a stereo script the fine-tune learns from the first of the node's views (the farm tunes each
view's shot on its own keyframes)."""
import os

import nuke

from . import jobs, keyframes, precomp, sequences, wiring
from .rvmatte_hostkit import sparse
from .rvmatte_hostkit.command import tuned_weights_path
from .rvmatte_hostkit.sequences import parse_pattern


class FinetuneJob(object):
    """Plain data for the worker thread: the plate and keyframes of one view, the tuned checkpoint."""

    def __init__(self, job, frames, view_job, node_state, steps, output):
        self.job = job   # the Generate job it was read from (its plate precomp)
        self.view_job = view_job
        self.node_name = job.node_name
        self.script = None
        self.output_dir = job.output_dir
        self.first, self.last = job.first, job.last
        self.frames = frames
        self.view = view_job.view
        self.plate = view_job.plate
        self.needs_plate_precomp = view_job.precomp
        self.precomp_pattern = job.precomp_pattern
        self.keyframes_pattern = job.keyframes_pattern
        self.keyframes = view_pattern(job.keyframes_pattern, view_job.view)
        self.input_colorspace = view_job.input_colorspace
        self.ocio_config = job.ocio_config
        self.python = job.python
        self.options = job.options
        self.state = node_state
        self.steps = steps
        self.output = output


def view_pattern(pattern, view):
    """`pattern` of one view (None: the script's only view)."""
    return sequences.for_view(pattern, view) if view else pattern


def collect(group, prefs=None):
    """The FinetuneJob for this node now; jobs.JobError when something must change first."""
    if group.input(keyframes.KEYFRAME_INPUT) is None:
        raise jobs.JobError("connect the corrected mattes (a Roto or a paint fix) to the keyframes input "
                            "(input %d)" % keyframes.KEYFRAME_INPUT)
    job = jobs.collect(group, prefs, tuned=False)
    try:
        frames = keyframes.frames(group, job.first, job.last)
    except ValueError as exc:
        raise jobs.JobError(str(exc))
    if not frames:
        raise jobs.JobError("set the keyframe frames: the frames on which the keyframes input holds a corrected "
                            "matte (e.g. %d,%d)" % (job.first, min(job.first + 10, job.last)))
    steps = int(group["finetune_steps"].value())
    if steps < 0:
        raise jobs.JobError("fine-tune steps is %d: 0 (the worker's default) or more" % steps)
    return FinetuneJob(job, frames, job.views[0], keyframes.inputs_state(group), steps,
                       tuned_weights_path(job.output_dir, group.name()))


def render_keyframes(group, pattern, frames, views):
    """The keyframes input's alpha to `pattern` (%V for views) on exactly `frames`; files of other
    frames left there by an earlier list are removed, so the worker sees only these keyframes."""
    for first, last in sparse.ranges(frames):
        precomp.render_input(group, pattern, first, last, views, input_name="keyframes", channels="alpha")
    for view in views or [None]:
        parsed = parse_pattern(view_pattern(pattern, view), sequences.NOTATIONS)
        for frame in parsed.frames_on_disk():
            if frame not in frames:
                os.remove(parsed.path(frame))


def finish(job, outcomes):
    """The end of a fine-tune (main thread): a success is remembered on the node and marks a matte made
    with other weights stale; a failure is shown in a message, and Generate does not fall back to the
    base weights unless the artist turns off "use tuned weights"."""
    if getattr(job, "script", None) not in (None, nuke.root().name()):
        return
    with nuke.root():
        group = nuke.toNode(job.node_name)
    from . import node as rvnode
    if not rvnode.is_rvmatte(group):
        return
    last = outcomes[-1] if outcomes else None
    if last is None or last.status == "failed":
        error = last.error if last is not None else "the worker did not run"
        wiring.set_status(group, "fine-tune failed: %s" % error)
        log = getattr(last, "log_path", None)
        nuke.message("RVMatte %s: fine-tune failed: %s\n\nGenerate does not use the base weights in its place: "
                     "fix this and press Fine-tune from keyframes again, or turn off 'use tuned weights' to "
                     "generate with the base weights.%s" % (group.name(), error,
                                                             ("\n\nworker log: %s" % log) if log else ""))
        wiring.refresh_stale(group)
        return
    if last.status == "cancelled":
        wiring.set_status(group, "fine-tune cancelled; the tuned weights were not changed")
        wiring.refresh_stale(group)
        return
    tuned = last.done
    keyframes.remember(group, {"path": job.output, "sha256": getattr(tuned, "sha256", ""), "frames": job.frames,
                               "state": job.state, "steps": getattr(tuned, "steps", 0),
                               "skipped": bool(getattr(tuned, "skipped", False))})
    how = "already tuned from these keyframes" if getattr(tuned, "skipped", False) else "%d step(s), %.1f s" % (
        getattr(tuned, "steps", 0), getattr(tuned, "seconds", 0.0))
    wiring.set_status(group, "fine-tuned from keyframes %s (%s): Generate uses %s" % (
        sparse.format_ranges(job.frames), how, job.output))
    wiring.show_warnings(group, "the fine-tune", last.warnings)
    wiring.refresh_stale(group)
