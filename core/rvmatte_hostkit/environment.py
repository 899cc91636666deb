"""The environment a worker process starts with: free of the host's Python.

Blender and Nuke set PYTHONPATH/PYTHONHOME for their own Python, and studios add
their packages to it; handed to the engine's interpreter they would shadow its
own packages or stop it from starting. So the worker gets none of them and no
user site-packages, and writes UTF-8 (the process module decodes UTF-8 whatever
the host's locale), unbuffered so progress arrives as it happens.
"""

import os

DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE", "PYTHONSAFEPATH",
           "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


def worker_environment(base=None, weights="", online=True, cache=""):
    """A copy of ``base`` (default os.environ) for the worker.

    ``weights`` sets RVMATTE_WEIGHTS, ``cache`` RVMATTE_CACHE (the weights cache); ``online`` False tells the worker not to
    download weights (RVMATTE_OFFLINE=1), as a host without online access must.
    """
    base = os.environ if base is None else base
    env = dict((k, v) for k, v in base.items() if k not in DROPPED)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONUTF8"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    if weights:
        env["RVMATTE_WEIGHTS"] = weights
    if cache:
        env["RVMATTE_CACHE"] = cache
    if not online:
        env["RVMATTE_OFFLINE"] = "1"
    return env
