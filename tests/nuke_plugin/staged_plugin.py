"""The plugin folder the tests load: nuke_plugin/ staged as the release ships it, with the
host kit inside (tools/build_release.py's stage_nuke_plugin), once per test process, in a
temporary folder removed at exit. Tests that need a path in the plugin take PLUGIN from here."""
import atexit
import importlib.util
import os
import shutil
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO, "nuke_plugin")


def _load_build_release():
    spec = importlib.util.spec_from_file_location("rvmatte_build_release", os.path.join(REPO, "tools",
                                                                                        "build_release.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_release = _load_build_release()
_FOLDER = tempfile.mkdtemp(prefix="rvmatte_nuke_tests_")
atexit.register(shutil.rmtree, _FOLDER, True)
PLUGIN = build_release.stage_nuke_plugin(os.path.join(_FOLDER, "rvmatte_nuke_plugin"))
