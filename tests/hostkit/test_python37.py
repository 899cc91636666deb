"""The host kit runs inside Nuke 13's Python 3.7 and Blender's 3.11: 3.7 syntax and APIs,
and nothing outside the standard library."""
import ast
import os
import shutil
import subprocess
import sys

import pytest

import rvmatte_hostkit

KIT = os.path.dirname(os.path.abspath(rvmatte_hostkit.__file__))
FILES = sorted(os.path.join(KIT, n) for n in os.listdir(KIT) if n.endswith(".py"))


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_parses_as_python_37(path):
    with open(path, encoding="utf-8") as handle:
        ast.parse(handle.read(), path, feature_version=(3, 7))


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_imports_only_the_standard_library_and_itself(path):
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    stdlib = sys.stdlib_module_names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                continue
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in stdlib, "%s imports %s (line %d)" % (os.path.basename(path), name, node.lineno)


def test_vermin_finds_nothing_newer_than_37():
    vermin = shutil.which("vermin", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if vermin is None:
        pytest.skip("vermin is not installed (pip install vermin)")
    done = subprocess.run([vermin, "-t=3.7-", "--violations", "--no-tips", "--eval-annotations", KIT],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert done.returncode == 0, done.stdout
