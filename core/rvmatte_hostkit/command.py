"""The worker's command lines (docs/cli.md: ``rvmatte run``; docs/training.md: ``rvmatte finetune``) and the
interpreter that runs them."""

import os
import re
import shutil
from dataclasses import dataclass
from typing import Optional


class WorkerSetupError(Exception):
    """The configured worker cannot be started; the message is meant for the artist."""


@dataclass(frozen=True)
class RunRequest:
    """One ``rvmatte run`` as a host asks for it; empty strings leave an option out."""

    input_path: str
    alpha_pattern: str
    foreground_pattern: str
    first: int
    last: int
    start_frame: Optional[int] = None  # movies only: the number of the movie's first frame
    weights: str = ""
    variant: str = "mobilenetv3"
    device: str = "auto"
    precision: str = "float32"
    downsample_ratio: object = None    # None or "auto": auto; else a number
    preroll: int = 0
    foreground_source: str = "edge"
    input_colorspace: str = ""
    output_colorspace: str = ""
    ocio_config: str = ""
    holdout: str = ""                  # matte path or `#` pattern (docs/cli.md --holdout)
    garbage: str = ""
    targets: tuple = ()                # "[NAME=]MASK" each (docs/people.md --target); applied after garbage, holdout
    target_points: tuple = ()          # "[NAME=]X,Y@FRAME" each (rvmatte_hostkit.people.point_argument)
    people: int = 0                    # --people N; 0: off
    debug: bool = False                # --debug: the worker prints tracebacks into its log
    resume: bool = False               # --resume: keep the frames on disk made with the same settings (result key)
    output_dir: str = ""               # -o OUT; the passes above must lie inside it when ``versions`` is set
    versions: bool = False             # --versions: write into OUT/v001, OUT/v002, … (docs/io.md); needs output_dir
    keep_versions: int = 0             # --keep-versions N: after success, complete versions beyond N are removed; 0: all kept
    input_id: str = ""                 # --input-id: the plate's contents as the host knows them (rvmatte_hostkit.plate)


@dataclass(frozen=True)
class FinetuneRequest:
    """One ``rvmatte finetune`` as a host asks for it (docs/training.md); empty strings leave an option out.

    ``keyframes`` is the corrected alpha sequence (``####`` pattern, only some frame numbers on disk);
    ``output`` the tuned checkpoint the matte job then takes as its weights (``tuned_weights_path``).
    """

    input_path: str
    keyframes: str
    output: str
    start_frame: Optional[int] = None
    weights: str = ""
    variant: str = "mobilenetv3"
    device: str = "auto"
    precision: str = "float32"
    downsample_ratio: object = None
    input_colorspace: str = ""
    ocio_config: str = ""
    holdout: str = ""
    garbage: str = ""
    steps: Optional[int] = None        # None: the worker's measured default
    force: bool = False                # redo even when the sidecar says these inputs were already tuned
    debug: bool = False


def tuned_weights_path(output_dir, name):
    """``<output_dir>/tuned/<name>.pth``: one tuned checkpoint per node or scene job, beside its passes.

    The worker skips a fine-tune whose sidecar (``.rvmatte.json``) already matches the keyframes,
    plate and base weights, so asking again costs nothing; changed keyframes re-tune it in place
    (atomically, so a matte job never reads half a checkpoint).
    """
    return os.path.join(output_dir, "tuned", name + ".pth")


def finetune_arguments(request):
    """The ``finetune …`` arguments of one fine-tune, progress as JSON lines (last)."""
    args = ["finetune", request.input_path,
            "--keyframes", request.keyframes,
            "-o", request.output,
            "--variant", request.variant,
            "--device", request.device,
            "--precision", request.precision,
            "--downsample-ratio", ratio_argument(request.downsample_ratio)]
    if request.start_frame is not None:
        args += ["--start-frame", str(request.start_frame)]
    for flag, value in (("--weights", request.weights), ("--holdout", request.holdout),
                        ("--garbage", request.garbage), ("--ocio-config", request.ocio_config),
                        ("--input-colorspace", request.input_colorspace)):
        if value:
            args += [flag, value]
    if request.steps is not None:
        args += ["--steps", str(int(request.steps))]
    if request.force:
        args += ["--force"]
    if request.debug:
        args += ["--debug"]
    return args + ["--progress", "json"]


def ratio_argument(value):
    """``--downsample-ratio`` as text: ``auto`` for None/"auto", else the number, every digit kept
    (0.375, 0.1234567891, 1)."""
    if value is None or value == "auto":
        return "auto"
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def run_arguments(request):
    """The ``run …`` arguments of one job, progress as JSON lines (last)."""
    args = ["run", request.input_path,
            "--alpha", request.alpha_pattern,
            "--foreground", request.foreground_pattern,
            "--foreground-source", request.foreground_source,
            "--frames", "%d-%d" % (request.first, request.last),
            "--variant", request.variant,
            "--device", request.device,
            "--precision", request.precision,
            "--downsample-ratio", ratio_argument(request.downsample_ratio)]
    if request.start_frame is not None:
        args += ["--start-frame", str(request.start_frame)]
    if request.preroll:
        args += ["--preroll", str(request.preroll)]
    for flag, value in (("--weights", request.weights), ("--holdout", request.holdout),
                        ("--garbage", request.garbage), ("--ocio-config", request.ocio_config),
                        ("--input-colorspace", request.input_colorspace),
                        ("--output-colorspace", request.output_colorspace)):
        if value:
            args += [flag, value]
    for target in request.targets:
        args += ["--target", target]
    for point in request.target_points:
        args += ["--target-point", point]
    if request.people:
        args += ["--people", str(int(request.people))]
    if request.resume:
        args += ["--resume"]
    if request.output_dir:
        args += ["-o", request.output_dir]
    if request.versions:
        args += ["--versions"]
        if request.keep_versions:
            args += ["--keep-versions", str(int(request.keep_versions))]
    if request.input_id:
        args += ["--input-id", request.input_id]
    if request.debug:
        args += ["--debug"]
    return args + ["--progress", "json"]


def debug_requested(preference=False, environ=None):
    """Whether workers run with ``--debug``: the artist's preference, or ``RVMATTE_DEBUG=1`` (a TD
    chasing a problem on every seat)."""
    environ = os.environ if environ is None else environ
    return bool(preference) or environ.get("RVMATTE_DEBUG", "").strip().lower() in ("1", "yes", "true", "on")


_RVMATTE_EXECUTABLE = re.compile(r"^rvmatte(\.exe)?$", re.IGNORECASE)


def interpreter_problem(python):
    """None when ``python`` may be an interpreter; else the artist's fix, in words.

    The common mistake is choosing the environment's folder rather than the Python inside it.
    """
    if not python:
        return "no interpreter given: choose the Python of the environment where rvmatte is installed"
    if os.path.isdir(python):
        inside = [os.path.join(python, *p) for p in (("bin", "python"), ("Scripts", "python.exe"), ("python.exe",))]
        found = [p for p in inside if os.path.isfile(p)]
        hint = (": " + found[0]) if found else " (bin/python on Linux and macOS, Scripts\\python.exe on Windows)"
        return "%s is a folder: choose the Python inside the environment, not the folder%s" % (python, hint)
    return None


def worker_prefix(configured, where="the preferences"):
    """The argv that starts ``rvmatte``: a Python interpreter gets ``-m rvmatte``.

    ``configured`` is the host's setting: a Python interpreter, an ``rvmatte``
    executable, or empty for ``rvmatte`` on PATH. ``where`` names that setting in
    the messages (``the RVMatte add-on preferences``).
    """
    path = configured.strip()
    if not path:
        found = shutil.which("rvmatte")
        if found is None:
            raise WorkerSetupError("no rvmatte worker configured: set the Python interpreter that has rvmatte "
                                   "installed in %s" % where)
        return [found]
    if os.path.isdir(path):
        raise WorkerSetupError(interpreter_problem(path))
    if not os.path.isfile(path):
        raise WorkerSetupError("worker not found: %s (check %s)" % (path, where))
    if os.name == "posix" and not os.access(path, os.X_OK):
        raise WorkerSetupError("worker is not executable: %s (check %s)" % (path, where))
    if _RVMATTE_EXECUTABLE.match(os.path.basename(path)):
        return [path]
    return [path, "-m", "rvmatte"]


def quoted(argv):
    """The command as one line a user can paste into a POSIX shell (messages and logs)."""
    def quote(word):
        if word and all(c.isalnum() or c in "-_./:=%#@+," for c in word):
            return word
        return "'" + word.replace("'", "'\"'\"'") + "'"
    return " ".join(quote(w) for w in argv)
