"""RVMatte for Nuke: GUI menus (Nuke runs menu.py only when the GUI is up)."""
import nuke

_CREATE = "import rvmatte_nuke.node\nrvmatte_nuke.node.create_node()"
_PREFERENCES = "import rvmatte_nuke.panel\nrvmatte_nuke.panel.show_preferences()"
_FARM = "import rvmatte_nuke.farm\nrvmatte_nuke.farm.write_job_for_selected()"
_UPGRADE = "import rvmatte_nuke.node\nrvmatte_nuke.node.upgrade_all()"
_INSTALL = "import rvmatte_nuke.engine\nrvmatte_nuke.engine.install()"
_CHECK = "import rvmatte_nuke.engine\nrvmatte_nuke.engine.check()"
_LOG = "import rvmatte_nuke.wiring\nrvmatte_nuke.wiring.show_worker_log()"

nodes = nuke.toolbar("Nodes").addMenu("RVMatte", icon="RVMatte.png")
nodes.addCommand("RVMatte", _CREATE, icon="RVMatte.png")

main = nuke.menu("Nuke").addMenu("RVMatte")
main.addCommand("Preferences...", _PREFERENCES)
main.addCommand("Check engine", _CHECK)


def _install_allowed():
    from rvmatte_nuke.rvmatte_hostkit import settings as kit_settings
    try:
        return kit_settings.resolve({}).install_allowed
    except kit_settings.SiteConfigError:
        return True   # Check engine names the broken config; installing stays possible


if _install_allowed():
    main.addCommand("Install engine...", _INSTALL)
main.addCommand("Write farm job for selected nodes...", _FARM)
main.addCommand("Upgrade RVMatte nodes", _UPGRADE)
main.addCommand("Show worker log", _LOG)


def _refresh_stale_flag():
    """updateUI runs often: a node's upstream is hashed again only after an edit somewhere in the
    script, or every RECHECK_S seconds for plates re-rendered on disk (staleness.Watch)."""
    import time
    import rvmatte_nuke.node
    import rvmatte_nuke.wiring
    group = nuke.thisNode()
    if not rvmatte_nuke.node.is_rvmatte(group) or not group["rvm_state"].value():
        return
    if _watch.due(group.fullName(), time.time()):
        rvmatte_nuke.wiring.refresh_stale(group)


def _script_edited():
    _watch.changed()


import rvmatte_nuke.staleness  # noqa: E402

_watch = rvmatte_nuke.staleness.Watch()
nuke.addKnobChanged(_script_edited, nodeClass="*")
nuke.addOnCreate(_script_edited, nodeClass="*")
nuke.addOnDestroy(_script_edited, nodeClass="*")
nuke.addUpdateUI(_refresh_stale_flag, nodeClass="Group")


def _knob_changed():
    import rvmatte_nuke.node
    rvmatte_nuke.node.knob_changed()


nuke.addKnobChanged(_knob_changed, nodeClass="Group")


def _stop_workers():
    import rvmatte_nuke.generate
    rvmatte_nuke.generate.stop_all()


nuke.addOnScriptClose(_stop_workers)
