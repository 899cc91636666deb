"""What the worker process starts with: an environment free of Nuke's Python, and an
interpreter path that is really an interpreter.

Nuke sets PYTHONPATH/PYTHONHOME for its own Python (3.7-3.11), and studios add their
packages to it; handed to the engine's interpreter they would shadow its own packages
(or stop it from starting). So the worker gets none of them, no user site-packages, and
UTF-8 for its output, which runner decodes as UTF-8 whatever Nuke's locale is.
"""
import os

DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE", "PYTHONSAFEPATH",
           "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


def worker_environment(base=None):
    """A copy of `base` (default os.environ) for the worker process."""
    base = os.environ if base is None else base
    env = dict((k, v) for k, v in base.items() if k not in DROPPED)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONUTF8"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def interpreter_problem(python):
    """None when `python` may be an interpreter; else the artist's fix, in words.

    The common mistake is choosing the environment's folder rather than the Python inside it."""
    if not python:
        return "no interpreter given: choose the Python of the environment where rvmatte is installed"
    if os.path.isdir(python):
        inside = [os.path.join(python, *p) for p in (("bin", "python"), ("Scripts", "python.exe"), ("python.exe",))]
        found = [p for p in inside if os.path.isfile(p)]
        hint = (": " + found[0]) if found else " (bin/python on Linux and macOS, Scripts\\python.exe on Windows)"
        return "%s is a folder: choose the Python inside the environment, not the folder%s" % (python, hint)
    return None
