"""Build every release artifact with one command, each carrying the host kit.

    python tools/build_release.py [--output-dir dist] [--blender-python PY] [--only core,nuke,blender]

* ``rvmatte-<v>-py3-none-any.whl`` and ``rvmatte-<v>.tar.gz``: the core, with the
  host kit as its top-level ``rvmatte_hostkit`` package (built by setuptools'
  own PEP 517 hooks in this Python, no isolation, so no network is needed);
* ``rvmatte-nuke-<v>.zip``: one ``rvmatte_nuke_plugin/`` folder to put on NUKE_PATH,
  the host kit inside as ``rvmatte_nuke/rvmatte_hostkit``;
* ``rvmatte-<v>.zip``: the Blender extension (blender_addon/build.py: Blender's
  own builder and validator, in a Python that has ``bpy``), the host kit inside as
  the add-on's ``rvmatte_hostkit``.

core/rvmatte_hostkit is the only copy in the repository; the hosts get theirs here.
Runs on Python 3.7+ (the Nuke part needs nothing else; the core part needs setuptools>=77,
for the SPDX licence field).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTKIT = os.path.join(REPO, "core", "rvmatte_hostkit")
NUKE_SOURCE = os.path.join(REPO, "nuke_plugin")
NUKE_FOLDER = "rvmatte_nuke_plugin"
BLENDER_BUILD = os.path.join(REPO, "blender_addon", "build.py")
PARTS = ("core", "nuke", "blender")
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")


class BuildError(Exception):
    """One artifact could not be built; the message says which and why."""


def version():
    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as handle:
        found = re.search(r'^version\s*=\s*"([^"]+)"', handle.read(), re.MULTILINE)
    return found.group(1)


def stage_nuke_plugin(dest):
    """The Nuke plugin folder as it ships (NUKE_PATH points at it): nuke_plugin/ plus the
    host kit as ``rvmatte_nuke/rvmatte_hostkit``. ``dest`` must not exist; returns it."""
    shutil.copytree(NUKE_SOURCE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "rvmatte_hostkit"))
    shutil.copytree(HOSTKIT, os.path.join(dest, "rvmatte_nuke", "rvmatte_hostkit"), ignore=_JUNK)
    return dest


def _zip_folder(folder, target, top):
    temp = target + ".part"
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                archive.write(path, os.path.join(top, os.path.relpath(path, folder)).replace(os.sep, "/"))
    os.replace(temp, target)
    return target


def build_nuke(output_dir):
    target = os.path.join(output_dir, "rvmatte-nuke-%s.zip" % version())
    staging = tempfile.mkdtemp(prefix="rvmatte_nuke_")
    try:
        return _zip_folder(stage_nuke_plugin(os.path.join(staging, NUKE_FOLDER)), target, NUKE_FOLDER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_PEP517 = """
import os, sys
from setuptools import build_meta
out = sys.argv[1]
names = [build_meta.build_sdist(out), build_meta.build_wheel(out)]
print("artifacts: " + " ".join(names))
"""


def build_core(output_dir, python=None):
    """The wheel and the sdist, from a copy of the sources (the checkout gets no build/ or egg-info)."""
    staging = tempfile.mkdtemp(prefix="rvmatte_core_")
    try:
        source = os.path.join(staging, "rvmatte")
        os.makedirs(source)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy2(os.path.join(REPO, name), source)
        shutil.copytree(os.path.join(REPO, "core"), os.path.join(source, "core"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        done = subprocess.run([python or sys.executable, "-c", _PEP517, os.path.abspath(output_dir)], cwd=source,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        if done.returncode != 0:
            raise BuildError("core wheel/sdist failed (needs setuptools>=77 in %s):\n%s" % (python or sys.executable,
                                                                                  done.stderr[-3000:]))
        names = done.stdout.rsplit("artifacts: ", 1)[-1].split()
        return [os.path.join(output_dir, n) for n in names]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def find_blender_python(given=None):
    """A Python with bpy: the one given, this one, or the repository's .venv-blender5 / .venv-blender45."""
    candidates = [given] if given else [sys.executable] + [
        os.path.join(REPO, v, "bin", "python") for v in (".venv-blender5", ".venv-blender45")]
    for python in candidates:
        if python and os.path.isfile(python):
            probe = subprocess.run([python, "-c", "import importlib.util, sys; "
                                    "sys.exit(importlib.util.find_spec('bpy') is None)"])
            if probe.returncode == 0:
                return python
    if given:
        raise BuildError("%s has no bpy: give --blender-python a Python with bpy (pip install bpy)" % given)
    raise BuildError("no Python with bpy found for the Blender extension: pip install bpy, "
                     "or pass --blender-python (tests/run makes .venv-blender5)")


def build_blender(output_dir, python=None):
    python = find_blender_python(python)
    done = subprocess.run([python, BLENDER_BUILD, "--output-dir", output_dir],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if done.returncode != 0:
        raise BuildError("Blender extension failed:\n%s%s" % (done.stdout, done.stderr))
    return done.stdout.strip().splitlines()[-1]


def build(output_dir, parts=PARTS, blender_python=None, core_python=None):
    """Build ``parts`` into ``output_dir``; returns the artifact paths."""
    output_dir = os.path.abspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    built = []
    if "core" in parts:
        built += build_core(output_dir, core_python)
    if "nuke" in parts:
        built.append(build_nuke(output_dir))
    if "blender" in parts:
        built.append(build_blender(output_dir, blender_python))
    return built


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the rvmatte release artifacts (core wheel and sdist, "
                                                 "Nuke plugin zip, Blender extension zip).")
    parser.add_argument("--output-dir", default=os.path.join(REPO, "dist"))
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated subset of %s" % ",".join(PARTS))
    parser.add_argument("--blender-python", help="a Python with bpy (default: this one, then .venv-blender5)")
    parser.add_argument("--core-python", help="the Python whose setuptools builds the core (default: this one)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error("--only: unknown part %s (choose from %s)" % (unknown[0], ", ".join(PARTS)))
    try:
        for path in build(args.output_dir, parts, args.blender_python, args.core_python):
            print(path)
    except BuildError as exc:
        print("build_release: error: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
