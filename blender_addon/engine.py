"""Install engine and Check, in Blender's words; the host kit does the work.

Install runs the kit's installer (`python -m rvmatte_hostkit.engine install`) with Blender's
own Python as a worker process, polled like a matte job, into the extension's user directory;
when it succeeds the Worker (and an empty Weights) preference is filled in. Without
`bpy.app.online_access` it downloads no weights. Check runs `rvmatte doctor --progress json`
and shows each failed check with its fix.
"""

import os
import sys

import bpy

from . import command, jobs
from .preferences import absolute, preferences
from .rvmatte_hostkit import progress
from .rvmatte_hostkit import settings as _settings

ADDON = __package__
KIT_PARENT = os.path.dirname(os.path.abspath(__file__))    # the folder holding rvmatte_hostkit/
install_job = None


def effective(prefs=None):
    """The settings in effect (RVMATTE_* variables and the site config win over the preferences)."""
    prefs = prefs or preferences()
    try:
        return _settings.resolve({"python": absolute(prefs.worker), "weights": absolute(prefs.weights),
                                  "device": prefs.device})
    except _settings.SiteConfigError as exc:
        raise command.WorkerSetupError(str(exc)) from None


def engine_folder():
    """The engine's folder: the extension's user directory, kept across add-on updates."""
    return bpy.utils.extension_path_user(ADDON, path="engine", create=True)


def install_argv(prefs):
    argv = [sys.executable, "-m", "rvmatte_hostkit.engine", "install", "--target", engine_folder(),
            "--host", "blender", "--torch", prefs.engine_torch, "--progress", "json"]
    if prefs.engine_wheels:
        argv += ["--find-links", absolute(prefs.engine_wheels)]
    if prefs.weights:
        argv += ["--weights", absolute(prefs.weights)]
    elif not bpy.app.online_access:
        argv.append("--offline")
    return argv


def install_environment():
    """The installer's environment: the worker's (no Blender Python settings), the kit importable."""
    env = command.worker_environment(os.environ, online=bpy.app.online_access)
    env["PYTHONPATH"] = KIT_PARENT
    return env


def install_finished(job):
    try:
        prefs = preferences()
    except KeyError:      # the add-on was disabled meanwhile
        return
    done = [m for m in job.messages if isinstance(m, progress.Installed)]
    if job.state is jobs.JobState.DONE and done:
        prefs.worker = done[-1].python
        if done[-1].weights and not prefs.weights:
            prefs.weights = done[-1].weights
        prefs.install_status = f"engine installed: {done[-1].python}"
        for warning in job.warnings:
            prefs.install_status += f"\n{warning}"
    elif job.state is jobs.JobState.CANCELLED:
        prefs.install_status = "install cancelled; the engine in use is unchanged"
    else:
        prefs.install_status = f"install failed: {job.error}"


def install_message(job, message):
    if isinstance(message, progress.Step):
        job.done, job.total = message.done, message.total
        job.message = f"{message.done}/{message.total} {message.message}"
        try:
            preferences().install_status = job.message
        except KeyError:
            pass


def start_install(context):
    """Start the installer; returns its job. Raises WorkerSetupError when installs are off."""
    global install_job
    if install_job is not None and install_job.running:
        raise command.WorkerSetupError("the engine is already being installed")
    if not effective(preferences(context)).install_allowed:
        raise command.WorkerSetupError("installing the engine is turned off here (RVMATTE_ALLOW_INSTALL or the "
                                       "site config): ask your pipeline team")
    prefs = preferences(context)
    prefs.install_status = "starting the installer"
    install_job = jobs.start(install_argv(prefs), env=install_environment(), label="engine install",
                             on_finish=install_finished, on_message=install_message)
    install_job.file_independent = True
    return install_job


def settings_source(setting):
    return _settings.describe(setting)


def doctor_argv(values):
    argv = command.worker_prefix(values["python"]) + ["doctor", "--progress", "json", "--device", values["device"]]
    if values["weights"]:
        argv += ["--weights", values["weights"]]
    return argv


def describe_doctor(job):
    """(ok, lines): each check, and for each failure its fix, from `rvmatte doctor --progress json`."""
    checks = [m for m in job.messages if isinstance(m, progress.Checked)]
    if not checks:
        return False, f"Check failed: {job.error or 'no answer from the worker'}"
    lines = []
    for check in checks:
        lines.append(f"{'ok' if check.ok else 'FAILED'} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"    fix: {check.fix}")
    return all(c.ok for c in checks), "\n".join(lines)
