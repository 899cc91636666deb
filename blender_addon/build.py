"""Build the installable extension zip with Blender's own extension builder.

    python blender_addon/build.py [--output-dir dist]

The add-on's folder and the host kit (core/rvmatte_hostkit, copied in as the
add-on's `rvmatte_hostkit` subpackage) are staged in a temporary folder, which
Blender's builder (`blender_ext.py`, the code behind `blender --command
extension build`) packs and validates against the manifest, tags included with
the list Blender itself checks them against. The builder ships inside the `bpy`
wheel, so any Python with `bpy` installed builds the package; no Blender binary
is needed. `--blender-ext PATH` points at another copy of the script, e.g.
`<blender>/5.0/scripts/addons_core/bl_pkg/cli/blender_ext.py`.
"""

import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib

SOURCE = os.path.dirname(os.path.abspath(__file__))
HOSTKIT = os.path.join(os.path.dirname(SOURCE), "core", "rvmatte_hostkit")
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc")


def _in_bpy(*parts):
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(root, "*", "scripts", *parts)))
        if found:
            return found[-1]
    return None


def find_blender_ext():
    return _in_bpy("addons_core", "bl_pkg", "cli", "blender_ext.py")


def find_valid_tags(blender_ext):
    """Blender's own list of extension tags (what `blender --command extension build` checks)."""
    scripts = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(blender_ext)))))
    path = os.path.join(scripts, "modules", "_bpy_internal", "extensions", "tags.py")
    return path if os.path.isfile(path) else _in_bpy("modules", "_bpy_internal", "extensions", "tags.py")


def stage(folder):
    """The extension's files as they ship: this folder plus the host kit; returns the staged folder."""
    staged = os.path.join(folder, "rvmatte")
    shutil.copytree(SOURCE, staged, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "rvmatte_hostkit"))
    shutil.copytree(HOSTKIT, os.path.join(staged, "rvmatte_hostkit"), ignore=_JUNK)
    return staged


def package_name():
    with open(os.path.join(SOURCE, "blender_manifest.toml"), "rb") as handle:
        manifest = tomllib.load(handle)
    return f"{manifest['id']}-{manifest['version']}.zip"


def build(output_dir, blender_ext=None):
    """Build `<id>-<version>.zip` into `output_dir`; returns its path."""
    script = blender_ext or find_blender_ext()
    if script is None:
        raise SystemExit("build.py: Blender's blender_ext.py not found: install bpy (pip install bpy) "
                         "or pass --blender-ext <blender>/<version>/scripts/addons_core/bl_pkg/cli/blender_ext.py")
    tags = find_valid_tags(script)
    if tags is None:
        raise SystemExit(f"build.py: Blender's tag list (_bpy_internal/extensions/tags.py) not found beside {script}")
    os.makedirs(output_dir, exist_ok=True)
    target = os.path.join(os.path.abspath(output_dir), package_name())
    with tempfile.TemporaryDirectory(prefix="rvmatte_blender_") as folder:
        staged = stage(folder)
        for step in (["build", "--source-dir", staged, "--output-filepath", target, "--valid-tags", tags],
                     ["validate", target, "--valid-tags", tags]):
            done = subprocess.run([sys.executable, script] + step, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"build.py: Blender's extension {step[0]} failed:\n{done.stdout}{done.stderr}")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the RVMatte Blender extension zip.")
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(SOURCE), "dist"))
    parser.add_argument("--blender-ext", help="path of Blender's blender_ext.py (default: the one in bpy)")
    args = parser.parse_args(argv)
    print(build(args.output_dir, args.blender_ext))


if __name__ == "__main__":
    main()
