"""The test tree itself: one pytest run imports every test and helper module by its basename
(the folders have no __init__.py), so two files of one name in one suite stop the whole suite's
collection ("import file mismatch") or let one helper shadow the other."""
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
#: the folders each suite of tests/run collects in one pytest process
SUITES = {"core": ("core", "hostkit", "release", "nuke_plugin"), "blender": ("blender_addon",)}


def _modules(folders):
    """basename → paths of the plain modules under ``folders`` (packages and conftest files excluded:
    a package is imported by its dotted name, and pytest keeps each conftest apart)."""
    found = defaultdict(list)
    for folder in folders:
        for path in (TESTS / folder).rglob("*.py"):
            if path.name == "conftest.py" or (path.parent / "__init__.py").exists():
                continue
            found[path.name].append(path.relative_to(TESTS))
    return found


def test_every_module_of_a_suite_has_a_basename_of_its_own():
    clashes = {suite: {name: [str(p) for p in paths] for name, paths in _modules(folders).items() if len(paths) > 1}
               for suite, folders in SUITES.items()}
    assert clashes == {suite: {} for suite in SUITES}


def test_the_check_sees_the_suites_files():
    core = _modules(SUITES["core"])
    assert "test_static_export.py" in core and "test_nuke_versions.py" in core and "test_build_release.py" in core
    assert "nuke.py" in core                       # the fake's module: tests import it as `nuke`
