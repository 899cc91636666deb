"""The Generate and Fine-tune from keyframes buttons: collect the job, render the precomps
if needed (blocking, like any Nuke render), then run the worker in the background with a
nuke.ProgressTask, or in the foreground when there is no GUI (`nuke -t`). One job per node
at a time: a Generate waits for the fine-tune whose weights it would use."""
import nuke

from . import finetune as tuning, jobs, precomp, precomp_stamp, runner, wiring

_running = {}


def _dispatch_to_main(call, *args):
    nuke.executeInMainThread(call, args)


def _dispatch_here(call, *args):
    call(*args)


def is_running(node_name):
    run = _running.get(node_name)
    return run is not None and run.thread is not None and run.thread.is_alive()


def _refuse_second_run(group):
    run = _running.get(group.fullName())
    if is_running(group.fullName()):
        nuke.message("RVMatte %s is already %s; cancel it in the progress panel first." % (group.name(), run.doing))
        return True
    return False


def _start(group, run):
    if nuke.GUI:
        _running[group.fullName()] = run
        run.start()
    else:
        run.run()
    return run


def render_plate(group, job, view_jobs, masks=False):
    """The plate precomp of `view_jobs` where it is not current (precomp_stamp), and with `masks` the
    mattes that need one. Main thread; raises precomp.PrecompError."""
    views = [v.view for v in view_jobs if not precomp_stamp.is_current(job, v.view)]
    if views:
        precomp_stamp.forget(job, views)
    if masks:
        precomp.render(group, job, plate_views=views)
    elif views:
        precomp.render_input(group, job.precomp_pattern, job.first, job.last, [v for v in views if v is not None])
    if views:
        precomp_stamp.remember(job, views)


def generate(group, env=None, resume=None):
    """Returns the GenerateRun (its thread is still going in the GUI), or None
    when nothing was started; problems go to a Nuke message. ``resume``: the unfinished version
    the Resume button continues (versions.resume), for the status line."""
    if _refuse_second_run(group):
        return None
    try:
        job = jobs.collect(group)
        if job.versions:
            jobs.check_own_folder(group, job.output_dir)
        render_plate(group, job, job.needs_precomp(), masks=True)
    except (jobs.JobError, precomp.PrecompError) as exc:
        wiring.set_status(group, "not generated: %s" % exc)
        nuke.message("RVMatte %s: %s" % (group.name(), exc))
        return None
    job.resume = resume
    wiring.set_status(group, "%s %d-%d..." % ("resuming %s," % resume if resume else "generating", job.first, job.last))
    job.script = nuke.root().name()
    reporter, dispatch = (nuke.ProgressTask, _dispatch_to_main) if nuke.GUI else (runner.PrintReporter, _dispatch_here)
    return _start(group, runner.GenerateRun(job, reporter, dispatch, _finish, env))


def finetune(group, env=None):
    """The Fine-tune from keyframes button: returns the FinetuneRun, or None when nothing was
    started. Pressing it turns "use tuned weights" on: from then on Generate waits for a tuned
    checkpoint made from these keyframes (or for the artist to turn the box off)."""
    if _refuse_second_run(group):
        return None
    try:
        job = tuning.collect(group)
        if job.needs_plate_precomp:
            render_plate(group, job.job, [job.view_job])
        tuning.render_keyframes(group, job.keyframes_pattern, job.frames, [job.view] if job.view else [])
    except (jobs.JobError, precomp.PrecompError) as exc:
        wiring.set_status(group, "not fine-tuned: %s" % exc)
        nuke.message("RVMatte %s: %s" % (group.name(), exc))
        return None
    group["use_tuned"].setValue(True)
    wiring.set_status(group, "fine-tuning from keyframes %s..." % ",".join(str(f) for f in job.frames))
    job.script = nuke.root().name()
    reporter, dispatch = (nuke.ProgressTask, _dispatch_to_main) if nuke.GUI else (runner.PrintReporter, _dispatch_here)
    return _start(group, runner.FinetuneRun(job, reporter, dispatch, _finish_finetune, env))


def stop_all():
    """onScriptClose: every worker of this session is stopped; their results are never wired
    into the next script."""
    for run in list(_running.values()):
        run.stop()


def _finish(job, outcomes):
    _running.pop(job.node_name, None)
    wiring.finish(job, outcomes)


def _finish_finetune(job, outcomes):
    _running.pop(job.node_name, None)
    tuning.finish(job, outcomes)
