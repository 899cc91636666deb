"""The worker's command line and environment (docs/cli.md), built from plain values."""

import os
import re
import shutil
from dataclasses import dataclass


class WorkerSetupError(Exception):
    """The configured worker cannot be started; the message is meant for the artist."""


@dataclass(frozen=True)
class MatteRequest:
    input_path: str
    alpha_pattern: str
    foreground_pattern: str
    first: int
    last: int
    start_frame: int | None = None  # movies only: number of the movie's first frame
    weights: str = ""
    variant: str = "mobilenetv3"
    device: str = "auto"
    precision: str = "float32"
    downsample_ratio: float | None = None  # None: auto
    preroll: int = 0
    foreground_source: str = "edge"
    input_colorspace: str = ""
    output_colorspace: str = ""
    ocio_config: str = ""
    holdout: str = ""      # matte path or `#` pattern (docs/cli.md --holdout)
    garbage: str = ""


_RVMATTE_EXECUTABLE = re.compile(r"^rvmatte(\.exe)?$", re.IGNORECASE)


def worker_prefix(configured):
    """The argv that starts `rvmatte`: a Python interpreter gets `-m rvmatte`.

    `configured` is the preference value: a Python interpreter, an `rvmatte`
    executable, or empty to use `rvmatte` from PATH.
    """
    path = configured.strip()
    if not path:
        found = shutil.which("rvmatte")
        if found is None:
            raise WorkerSetupError(
                "no rvmatte worker configured: set the Python interpreter that has rvmatte "
                "installed in the RVMatte add-on preferences")
        return [found]
    if not os.path.isfile(path):
        raise WorkerSetupError(f"worker not found: {path} (check the RVMatte add-on preferences)")
    if not os.access(path, os.X_OK):
        raise WorkerSetupError(f"worker is not executable: {path} (check the RVMatte add-on preferences)")
    if _RVMATTE_EXECUTABLE.match(os.path.basename(path)):
        return [path]
    return [path, "-m", "rvmatte"]


def run_arguments(request):
    """`run …` arguments for one matte job, progress as JSON lines."""
    args = ["run", request.input_path,
            "--alpha", request.alpha_pattern,
            "--foreground", request.foreground_pattern,
            "--foreground-source", request.foreground_source,
            "--frames", f"{request.first}-{request.last}",
            "--variant", request.variant,
            "--device", request.device,
            "--precision", request.precision,
            "--downsample-ratio",
            "auto" if request.downsample_ratio is None else f"{request.downsample_ratio:g}"]
    if request.start_frame is not None:
        args += ["--start-frame", str(request.start_frame)]
    if request.preroll:
        args += ["--preroll", str(request.preroll)]
    if request.weights:
        args += ["--weights", request.weights]
    if request.holdout:
        args += ["--holdout", request.holdout]
    if request.garbage:
        args += ["--garbage", request.garbage]
    if request.ocio_config:
        args += ["--ocio-config", request.ocio_config]
    if request.input_colorspace:
        args += ["--input-colorspace", request.input_colorspace]
    if request.output_colorspace:
        args += ["--output-colorspace", request.output_colorspace]
    return args + ["--progress", "json"]


def worker_environment(base, *, weights="", online=True):
    """The environment for the worker: Blender's own Python settings removed.

    Blender may run with PYTHONHOME/PYTHONPATH pointing at its bundled Python,
    which would break another interpreter. Without online access the worker is
    told not to download weights (RVMATTE_OFFLINE=1).
    """
    env = {k: v for k, v in base.items() if k not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONUNBUFFERED"] = "1"
    if weights:
        env["RVMATTE_WEIGHTS"] = weights
    if not online:
        env["RVMATTE_OFFLINE"] = "1"
    return env
