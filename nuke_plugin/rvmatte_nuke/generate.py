"""The Generate button: collect the job, render the precomp if needed (blocking,
like any Nuke render), then run the worker in the background with a
nuke.ProgressTask, or in the foreground when there is no GUI (`nuke -t`)."""
import nuke

from . import jobs, precomp, runner, wiring

_running = {}


def _dispatch_to_main(call, *args):
    nuke.executeInMainThread(call, args)


def _dispatch_here(call, *args):
    call(*args)


def is_running(node_name):
    run = _running.get(node_name)
    return run is not None and run.thread is not None and run.thread.is_alive()


def generate(group, env=None):
    """Returns the GenerateRun (its thread is still going in the GUI), or None
    when nothing was started; problems go to a Nuke message."""
    name = group.fullName()
    if is_running(name):
        nuke.message("RVMatte %s is already generating; cancel it in the progress panel first." % group.name())
        return None
    try:
        job = jobs.collect(group)
        precomp.render(group, job)
    except (jobs.JobError, precomp.PrecompError) as exc:
        wiring.set_status(group, "not generated: %s" % exc)
        nuke.message("RVMatte %s: %s" % (group.name(), exc))
        return None
    wiring.set_status(group, "generating %d-%d..." % (job.first, job.last))
    job.script = nuke.root().name()
    if nuke.GUI:
        run = runner.GenerateRun(job, nuke.ProgressTask, _dispatch_to_main, _finish, env)
        _running[name] = run
        run.start()
    else:
        run = runner.GenerateRun(job, runner.PrintReporter, _dispatch_here, _finish, env)
        run.run()
    return run


def stop_all():
    """onScriptClose: every worker of this session is stopped; their results are never wired
    into the next script."""
    for run in list(_running.values()):
        run.stop()


def _finish(job, outcomes):
    _running.pop(job.node_name, None)
    wiring.finish(job, outcomes)
