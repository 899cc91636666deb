"""RVMatte > Install engine and Check engine; the host kit does the work.

Install runs the kit's installer (``python -m rvmatte_hostkit.engine install``) into
``~/.nuke/rvmatte/engine`` in a thread watched like a matte job, with a nuke.ProgressTask;
when it succeeds the worker preference (and empty weights) are filled in on the main thread.
Nuke 13-15's Python is too old to host the engine, so the installer runs with Nuke's own
``python`` when it is 3.10 or newer, else a python3.10+ from PATH. Check runs ``rvmatte
doctor --progress json`` and lists each failure with its fix.
"""
import os
import subprocess
import sys
import threading

import nuke

from . import runner, settings
from .rvmatte_hostkit import engine as _engine
from .rvmatte_hostkit import progress
from .rvmatte_hostkit.environment import worker_environment

KIT_PARENT = os.path.dirname(os.path.abspath(__file__))     # the folder holding rvmatte_hostkit/
_installs = []


def installer_python(executable=None, version=None, which=None):
    """The Python that runs the installer and creates the engine: Nuke's own when new enough, else PATH's."""
    executable = sys.executable if executable is None else executable
    version = sys.version_info if version is None else version
    folder = os.path.dirname(executable)
    names = ("python.exe",) if os.name == "nt" else ("python3", "python")
    own = [os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n))]
    if os.path.basename(executable).lower().startswith("python"):
        own.insert(0, executable)
    options = {} if which is None else {"which": which}
    return _engine.find_base_python(own[0] if own else "", version, **options)


def install_argv(python, torch="auto", find_links="", weights="", offline=False, target=None):
    argv = [python, "-m", "rvmatte_hostkit.engine", "install", "--host", "nuke", "--torch", torch,
            "--progress", "json", "--target", target or _engine.default_target("nuke")]
    if find_links:
        argv += ["--find-links", find_links]
    if weights:
        argv += ["--weights", weights]
    elif offline:
        argv.append("--offline")
    return argv


def install_environment():
    env = worker_environment()
    env["PYTHONPATH"] = KIT_PARENT
    return env


def installed(outcome_messages):
    """Fill in the preferences from the installer's Installed message (main thread)."""
    done = [m for m in outcome_messages if isinstance(m, progress.Installed)]
    if not done:
        return None
    prefs = settings.load()
    prefs.python = done[-1].python
    if done[-1].weights and not prefs.weights:
        prefs.weights = done[-1].weights
    settings.save(prefs)
    return done[-1]


def _report(outcome, messages):
    if outcome.status == "done":
        found = installed(messages)
        text = "RVMatte engine installed: %s" % (found.python if found else "?")
        warnings = [m.message for m in messages if isinstance(m, progress.Warned)]
        nuke.message("\n".join([text] + warnings))
    elif outcome.status == "cancelled":
        nuke.message("RVMatte engine install cancelled; the engine in use is unchanged.")
    else:
        nuke.message("RVMatte engine install failed: %s" % outcome.error)


def install(torch="auto", find_links="", weights="", offline=False, target=None, wait=False):
    """Start the installer in a thread (GUI) or run it here (``nuke -t`` or ``wait``); returns the thread."""
    effective = settings.effective(settings.load())
    if not effective.install_allowed:
        nuke.message("Installing the RVMatte engine is turned off here (RVMATTE_ALLOW_INSTALL or the site "
                     "config): ask your pipeline team.")
        return None
    python = installer_python()
    if python is None:
        nuke.message("RVMatte: %s" % _engine.base_python_problem(sys.version_info))
        return None
    argv = install_argv(python, torch, find_links, weights or settings.load().weights, offline, target)
    background = nuke.GUI and not wait
    dispatch = (lambda call, *args: nuke.executeInMainThread(call, args)) if background else \
        (lambda call, *args: call(*args))

    def run():
        task = nuke.ProgressTask("RVMatte engine install") if background else runner.PrintReporter("RVMatte")
        messages = []

        def on_event(message):
            messages.append(message)
            if isinstance(message, progress.Step):
                task.setProgress(int(100 * (message.done - 1) / max(message.total, 1)))
                task.setMessage(message.message)
        try:
            outcome = runner.run_worker(argv, on_event, task.isCancelled, install_environment())
        finally:
            del task
        dispatch(_report, outcome, messages)

    if not background:
        run()
        return None
    thread = threading.Thread(target=run, name="rvmatte engine install")
    thread.daemon = True
    _installs.append(thread)
    thread.start()
    return thread


def doctor(python, weights="", device="auto", timeout=300):
    """The ``rvmatte doctor`` checks as progress.Checked messages (a failed start: one failed 'python' check)."""
    from .rvmatte_hostkit.command import interpreter_problem
    problem = interpreter_problem(python)
    if problem:
        return [progress.Checked("python", False, problem, "choose the Python inside the environment, or use "
                                 "RVMatte > Install engine")]
    argv = [python, "-m", "rvmatte", "doctor", "--progress", "json", "--device", device]
    if weights:
        argv += ["--weights", weights]
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              encoding="utf-8", errors="replace", timeout=timeout, env=worker_environment())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [progress.Checked("python", False, "cannot run %s: %s" % (python, exc),
                                 "use RVMatte > Install engine, or choose the Python of an rvmatte environment")]
    checks = [m for m in map(progress.parse_line, done.stdout.splitlines()) if isinstance(m, progress.Checked)]
    if not checks:
        why = progress.stderr_error(done.stderr.splitlines()) or (done.stderr.strip().splitlines() or ["no answer"])[-1]
        return [progress.Checked("python", False, "%s -m rvmatte: %s" % (python, why),
                                 "use RVMatte > Install engine, or choose the Python of an rvmatte environment")]
    return checks


def check_text(checks):
    """The checks as lines: each one, and under each failure its fix."""
    lines = []
    for check in checks:
        lines.append("%s %s: %s" % ("ok" if check.ok else "FAILED", check.name, check.detail))
        if not check.ok and check.fix:
            lines.append("    fix: %s" % check.fix)
    return "\n".join(lines)


def _show_check(checks):
    ok = all(c.ok for c in checks)
    nuke.message("RVMatte check: %s\n%s" % ("all checks passed" if ok else "some checks failed", check_text(checks)))


def check(wait=False):
    """RVMatte > Check engine: doctor with the settings in effect, its result in a message. In the GUI it
    runs in a thread (doctor loads torch and the weights: seconds) and returns the thread; with ``wait`` or
    in ``nuke -t`` it returns the checks."""
    try:
        effective = settings.effective(settings.load())
    except settings.SettingsError as exc:
        nuke.message("RVMatte check: %s" % exc)
        return None
    values = (effective["python"], effective["weights"], effective["device"])
    if wait or not nuke.GUI:
        checks = doctor(*values)
        _show_check(checks)
        return checks

    def run():
        nuke.executeInMainThread(_show_check, (doctor(*values),))

    thread = threading.Thread(target=run, name="rvmatte check")
    thread.daemon = True
    thread.start()
    return thread
