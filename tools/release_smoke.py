"""CI's release check: the built wheel installed into a fresh environment mattes a clip.

    python3 tools/release_smoke.py [--keep DIR] [-- PIP_OPTIONS...]

1. a fresh venv (``python3.11 -m venv``), with setuptools new enough for the
   project's metadata;
2. ``tools/build_release.py --only core`` with that venv's Python: the wheel and sdist;
3. the engine installer the hosts run (``python -m rvmatte_hostkit.engine install
   --find-links dist --torch cpu``) puts the wheel and ``torch==2.13.0`` into a new
   engine folder (pip's own configuration chooses the indexes for the rest; offline,
   pass ``-- --no-index --find-links WHEELS``), checked by ``rvmatte doctor``;
4. ``rvmatte run`` with the engine's Python on three frames of the shared test clip,
   ``--progress json``, read with the host kit: every frame written, the EXRs on disk,
   and ``rvmatte_hostkit`` imported from the installed wheel, not the checkout.

Prints one line per step; exit 0 only when all pass. Slow (torch is installed
afresh), so CI runs it (.ci/run) rather than the test suite.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "core"))
from rvmatte_hostkit import progress  # noqa: E402  (the checkout's kit reads the installed worker's lines)

SHARED = os.environ.get("RVMATTE_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
CLIP = os.path.join(SHARED, "data", "real_video", "rvmnuke_person_short_360x640", "nuke_person_short.mp4")
WEIGHTS = os.path.join(SHARED, "models", "rvm_mobilenetv3_from_tfjs.pth")
TORCH = "torch==2.13.0"


class SmokeError(Exception):
    pass


def step(text, argv, **options):
    began = time.monotonic()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, **options)
    if done.returncode != 0:
        raise SmokeError("%s failed (exit %d):\n%s%s" % (text, done.returncode, done.stdout[-2000:],
                                                        done.stderr[-4000:]))
    print("release smoke: %s (%.0f s)" % (text, time.monotonic() - began), flush=True)
    return done.stdout


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def install_engine(work, dist, pip_options, env, base):
    """The engine installer from the checkout's kit: the wheel and torch into work/engine; its Python."""
    argv = [base, "-m", "rvmatte_hostkit.engine", "install", "--target", os.path.join(work, "engine"),
            "--find-links", dist, "--torch", "cpu", "--torch-requirement", TORCH, "--weights", WEIGHTS,
            "--progress", "json"]
    for i, option in enumerate(pip_options):
        if option == "--find-links" and i + 1 < len(pip_options):
            argv += ["--find-links", os.path.abspath(pip_options[i + 1])]
    install_env = dict(env, PYTHONPATH=os.path.join(REPO, "core"))
    if "--no-index" in pip_options:
        install_env["PIP_NO_INDEX"] = "1"
    out = step("engine installed with %s" % TORCH, argv, env=install_env, cwd=work)
    messages = [m for m in map(progress.parse_line, out.splitlines()) if m is not None]
    installed = [m for m in messages if isinstance(m, progress.Installed)]
    steps = [m.name for m in messages if isinstance(m, progress.Step)]
    if not installed or len(steps) != 7:
        raise SmokeError("the engine installer reported no install: %s" % messages)
    return installed[0].python


def smoke(work, pip_options):
    for path in (CLIP, WEIGHTS):
        if not os.path.isfile(path):
            raise SmokeError("test data missing: %s (../shared beside the checkout)" % path)
    env = clean_env()
    venv = os.path.join(work, "venv")
    python = os.path.join(venv, "bin", "python")
    base = shutil.which("python3.11") or sys.executable
    step("fresh venv with %s" % base, [base, "-m", "venv", venv], env=env)
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + pip_options
    step("setuptools for the build", pip + ["setuptools>=77"], env=env)
    dist = os.path.join(work, "dist")
    step("wheel and sdist built", [python, os.path.join(REPO, "tools", "build_release.py"), "--only", "core",
                                   "--output-dir", dist], env=env)
    wheels = glob.glob(os.path.join(dist, "rvmatte-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise SmokeError("expected one wheel in %s, found %s" % (dist, wheels))
    python = install_engine(work, dist, pip_options, env, python)
    where = step("host kit from the wheel", [python, "-c", "import rvmatte_hostkit, rvmatte.cli; "
                                             "print(rvmatte_hostkit.__file__)"], env=env, cwd=work).strip()
    if not where.startswith(os.path.join(work, "engine")):
        raise SmokeError("rvmatte_hostkit came from %s, not the installed wheel" % where)
    out = os.path.join(work, "out")
    lines = step("3 frames matted", [python, "-m", "rvmatte", "run", CLIP, "-o", out, "--frames", "1-3",
                                     "--weights", WEIGHTS, "--device", "cpu", "--progress", "json"],
                 env=dict(env, OMP_NUM_THREADS="2"), cwd=work)
    messages = [m for m in map(progress.parse_line, lines.splitlines()) if m is not None]
    finished = [m for m in messages if isinstance(m, progress.Finished)]
    frames = [m.frame for m in messages if isinstance(m, progress.FrameDone)]
    if not finished or finished[0].written != 3 or frames != [1, 2, 3]:
        raise SmokeError("the run did not report 3 written frames: %s" % messages)
    exrs = sorted(glob.glob(os.path.join(out, "*.alpha.*.exr")))
    if len(exrs) != 3 or any(os.path.getsize(p) == 0 for p in exrs):
        raise SmokeError("expected 3 alpha EXRs in %s, found %s" % (out, exrs))
    print("release smoke: passed (%s)" % ", ".join(os.path.basename(p) for p in exrs), flush=True)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    pip_options = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description="Install the built wheel into a fresh venv and matte 3 frames.")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="rvmatte_smoke_")
    os.makedirs(work, exist_ok=True)
    try:
        smoke(work, pip_options)
    except SmokeError as exc:
        print("release smoke: error: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
