"""Preferences shared by every RVMatte node: the worker's interpreter, default
weights and default device. Stored as JSON in ~/.nuke/rvmatte.json (or the file
named by RVMATTE_NUKE_PREFS). A studio's RVMATTE_PYTHON / RVMATTE_WEIGHTS /
RVMATTE_DEVICE and site config (RVMATTE_CONFIG) override them, e.g. on a render
node: `effective` and `in_effect` (the host kit's settings.resolve)."""
import json
import os
import subprocess

PREFS_ENV = "RVMATTE_NUKE_PREFS"
PYTHON_ENV = "RVMATTE_PYTHON"
DEVICES = ("auto", "cpu", "cuda", "mps")


class SettingsError(Exception):
    """A preference is missing or wrong; the message says which and how to fix it."""


class Preferences(object):
    def __init__(self, python="", weights="", device="auto"):
        self.python = python
        self.weights = weights
        self.device = device

    def to_dict(self):
        return {"python": self.python, "weights": self.weights, "device": self.device}

    def __eq__(self, other):
        return isinstance(other, Preferences) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "Preferences(%r)" % self.to_dict()


def prefs_path():
    explicit = os.environ.get(PREFS_ENV)
    if explicit:
        return explicit
    return os.path.join(os.path.expanduser("~"), ".nuke", "rvmatte.json")


def load():
    """The saved preferences; defaults when there is no file yet."""
    path = prefs_path()
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError):
        return Preferences()
    except ValueError as exc:
        raise SettingsError("RVMatte preferences %s are not valid JSON (%s)" % (path, exc))
    prefs = Preferences()
    for key in ("python", "weights", "device"):
        if isinstance(data.get(key), str):
            setattr(prefs, key, data[key])
    if prefs.device not in DEVICES:
        prefs.device = "auto"
    return prefs


def save(prefs):
    path = prefs_path()
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    temp = path + ".tmp"
    with open(temp, "w") as handle:
        json.dump(prefs.to_dict(), handle, indent=2)
    os.replace(temp, path)


def effective(prefs):
    """The host kit's Effective settings for these preferences (each value with its source)."""
    from .rvmatte_hostkit import settings as _settings
    try:
        return _settings.resolve({"python": prefs.python, "weights": prefs.weights, "device": prefs.device})
    except _settings.SiteConfigError as exc:
        raise SettingsError(str(exc))


def in_effect(prefs):
    """Preferences holding the values in effect (what a Generate uses)."""
    values = effective(prefs)
    device = values["device"] if values["device"] in DEVICES else "auto"
    return Preferences(python=values["python"], weights=values["weights"], device=device)


def worker_python(prefs):
    """The interpreter that has `rvmatte` installed."""
    python = os.environ.get(PYTHON_ENV) or prefs.python
    if not python:
        raise SettingsError("no worker interpreter set: choose the Python that has rvmatte installed "
                            "in RVMatte > Preferences (or set %s)" % PYTHON_ENV)
    if os.path.isabs(python) and not os.path.isfile(python):
        raise SettingsError("worker interpreter not found: %s (RVMatte > Preferences)" % python)
    return python


def check_worker(python, timeout=60):
    """(True, "rvmatte 0.1.0") when `python -m rvmatte` runs, else (False, why)."""
    from .rvmatte_hostkit.command import interpreter_problem
    from .rvmatte_hostkit.environment import worker_environment

    problem = interpreter_problem(python)
    if problem:
        return False, problem
    try:
        done = subprocess.run([python, "-m", "rvmatte", "--version"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, encoding="utf-8", errors="replace",
                              timeout=timeout, env=worker_environment())
    except OSError as exc:
        return False, "cannot run %s: %s" % (python, exc.strerror or exc)
    except subprocess.TimeoutExpired:
        return False, "%s -m rvmatte did not answer in %d s" % (python, timeout)
    if done.returncode != 0:
        lines = [l for l in done.stderr.splitlines() if l.strip()]
        return False, lines[-1].strip() if lines else "exit code %d" % done.returncode
    return True, done.stdout.strip()
