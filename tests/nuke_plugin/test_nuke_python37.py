"""Nuke 13 ships Python 3.7: the plugin's own code keeps to 3.7."""
import ast
import os
import shutil
import subprocess
import sys

import pytest

PLUGIN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "nuke_plugin")


def plugin_files():
    for folder, _, names in os.walk(PLUGIN):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


@pytest.mark.parametrize("path", list(plugin_files()), ids=lambda p: os.path.relpath(p, PLUGIN))
def test_parses_as_python_37(path):
    with open(path) as handle:
        source = handle.read()
    tree = ast.parse(source, path, feature_version=(3, 7))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.NamedExpr), "walrus at line %d" % node.lineno
        if isinstance(node, ast.arguments):
            assert not node.posonlyargs, "positional-only parameters"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            assert node.value.id not in ("list", "dict", "tuple", "set", "type"), \
                "%s[...] at line %d needs Python 3.9" % (node.value.id, node.lineno)


def test_vermin_finds_nothing_newer_than_37():
    """vermin also knows library APIs (str.removeprefix, shlex.join, ...)."""
    vermin = shutil.which("vermin", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if vermin is None:
        pytest.skip("vermin is not installed (pip install vermin)")
    done = subprocess.run([vermin, "-t=3.7-", "--violations", "--no-tips", "--eval-annotations", PLUGIN],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert done.returncode == 0, done.stdout
