"""Build the installable extension zip with Blender's own extension builder.

    python blender_addon/build.py [--output-dir dist]

Blender's builder (`blender_ext.py`, the code behind `blender --command
extension build`) ships inside the `bpy` wheel, so any Python with `bpy`
installed builds and validates the package against the manifest; no Blender
binary is needed. `--blender-ext PATH` points at another copy of the script, e.g.
`<blender>/5.0/scripts/addons_core/bl_pkg/cli/blender_ext.py`.
"""

import argparse
import glob
import importlib.util
import os
import subprocess
import sys
import tomllib

SOURCE = os.path.dirname(os.path.abspath(__file__))


def find_blender_ext():
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(root, "*", "scripts", "addons_core", "bl_pkg", "cli", "blender_ext.py")))
        if found:
            return found[-1]
    return None


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
    os.makedirs(output_dir, exist_ok=True)
    target = os.path.join(os.path.abspath(output_dir), package_name())
    done = subprocess.run([sys.executable, script, "build", "--source-dir", SOURCE, "--output-filepath", target],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build.py: Blender's extension build failed:\n{done.stdout}{done.stderr}")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the RVMatte Blender extension zip.")
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(SOURCE), "dist"))
    parser.add_argument("--blender-ext", help="path of Blender's blender_ext.py (default: the one in bpy)")
    args = parser.parse_args(argv)
    print(build(args.output_dir, args.blender_ext))


if __name__ == "__main__":
    main()
