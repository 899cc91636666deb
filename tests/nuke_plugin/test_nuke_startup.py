"""NUKE_PATH start-up: init.py runs in every mode without Qt or torch; menu.py
registers the node and the menus."""
import os
import runpy
import subprocess
import sys

import nuke

from nuke_helpers import make_rvmatte
from rvmatte_nuke import node as rvnode

HERE = os.path.dirname(os.path.abspath(__file__))
from staged_plugin import PLUGIN

TERMINAL_SESSION = r'''
import os, runpy, sys
BLOCKED = ("PySide2", "PySide6", "shiboken2", "shiboken6", "torch", "rvmatte", "nukescripts")

class Blocker(object):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked in a terminal session: " + name)
        return None

sys.meta_path.insert(0, Blocker())
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import nuke
nuke.GUI = False
nuke.env["gui"] = False
runpy.run path(os.path.join(sys.argv[2], "init.py"), run_name="__main__")
for call, args, kwargs, _ in nuke._fake.callbacks["onScriptLoad"]:
    call(*args, **kwargs)
print(sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
'''.replace("run path", "run_path")


def test_init_runs_without_gui_qt_or_torch():
    done = subprocess.run([sys.executable, "-c", TERMINAL_SESSION, os.path.join(HERE, "fake_nuke"), PLUGIN],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_init_upgrades_old_nodes_when_a_script_loads():
    runpy.run_path(os.path.join(PLUGIN, "init.py"))
    group = make_rvmatte()
    group[rvnode.VERSION_KNOB].setValue(0)
    for call, args, kwargs, _ in nuke._fake.callbacks["onScriptLoad"]:
        call(*args, **kwargs)
    assert group[rvnode.VERSION_KNOB].value() == rvnode.NODE_VERSION
    assert os.path.join(".", "icons") in nuke._fake.plugin_paths or "./icons" in nuke._fake.plugin_paths


def test_menu_registers_the_node_in_the_nodes_toolbar():
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    item = nuke.toolbar("Nodes").findItem("RVMatte/RVMatte")
    assert item is not None and item.icon() == "RVMatte.png"
    exec(item.script(), {"nuke": nuke})
    (created,) = nuke.allNodes("Group")
    assert rvnode.is_rvmatte(created)


def test_menu_adds_preferences_farm_and_upgrade_commands():
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    menu = nuke.menu("Nuke")
    for name in ("RVMatte/Preferences...", "RVMatte/Write farm job for selected nodes...",
                 "RVMatte/Upgrade RVMatte nodes"):
        assert menu.findItem(name) is not None, name


def test_menu_refreshes_the_stale_flag_on_ui_updates():
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    (refresh,) = [c for c in nuke._fake.callbacks["updateUI"] if c[3] == "Group"]
    upstream = nuke.nodes.Grade()
    group = make_rvmatte(upstream)
    group["rvm_state"].setValue("an older state")
    nuke._fake.this_node = group
    refresh[0]()
    assert group["status"].value().startswith("STALE: ")


def test_icon_is_shipped():
    path = os.path.join(PLUGIN, "icons", "RVMatte.png")
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_repository_folder_alone_says_how_to_build_the_plugin():
    """nuke_plugin/ without the host kit is not the plugin: importing it says what to run."""
    source = os.path.join(os.path.dirname(os.path.dirname(HERE)), "nuke_plugin")
    code = "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import rvmatte_nuke"
    env = dict((k, v) for k, v in os.environ.items() if k != "PYTHONPATH")
    done = subprocess.run([sys.executable, "-c", code, os.path.join(HERE, "fake_nuke"), source], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode != 0
    assert "tools/build_release.py --only nuke" in done.stderr.strip().splitlines()[-1]
