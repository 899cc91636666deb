"""RVMatte for Nuke: runs in every mode (GUI, `nuke -t`, render nodes).
No GUI imports and no torch here: the node's render path is stock nodes only,
and this only keeps old RVMatte nodes up to date when a script loads."""
import nuke

nuke.pluginAddPath("./icons", addToSysPath=False)


def _upgrade_rvmatte_nodes():
    import rvmatte_nuke.node
    rvmatte_nuke.node.upgrade_all()


nuke.addOnScriptLoad(_upgrade_rvmatte_nodes)
