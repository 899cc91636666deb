"""The worker's command line and environment, in Blender's words (the host kit builds them)."""

from .rvmatte_hostkit import command as _command
from .rvmatte_hostkit import environment as _environment
from .rvmatte_hostkit.command import RunRequest as MatteRequest, WorkerSetupError, run_arguments  # noqa: F401
from .rvmatte_hostkit.command import FinetuneRequest, finetune_arguments  # noqa: F401
from .rvmatte_hostkit.command import debug_requested  # noqa: F401

WHERE = "the RVMatte add-on preferences"


def worker_prefix(configured):
    """The argv that starts `rvmatte` for the Worker preference (interpreter, executable, or empty)."""
    return _command.worker_prefix(configured, where=WHERE)


def worker_environment(base, *, weights="", online=True, cache=""):
    """The worker's environment: Blender's Python settings removed; without online access
    (`bpy.app.online_access`) the worker is told not to download weights."""
    return _environment.worker_environment(base, weights=weights, online=online, cache=cache)
