"""The RVMatte node: a Group of stock nodes with the plugin's knobs."""
import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte
from rvmatte_nuke import node as rvnode

STOCK = {"Input", "Output", "Read", "Copy", "Premult", "Switch", "Dot", "Shuffle", "Write"}


def test_create_node_connects_to_the_selected_plate():
    plate = make_read("/shots/a/plate.####.exr", 1001, 1010)
    group = make_rvmatte(plate)
    assert group.Class() == "Group"
    assert group.input(0) is plate
    assert group.name() == "RVMatte1"


def test_internals_are_stock_nodes_only():
    group = make_rvmatte()
    classes = {n.Class() for n in group.nodes()}
    assert classes <= STOCK
    assert {n.name() for n in group.nodes()} == set(rvnode.INTERNAL)


def test_output_passes_the_plate_until_a_matte_exists():
    group = make_rvmatte()
    switch = group.node("switch")
    assert switch["which"].value() == 0
    assert switch.input(0) is group.node("Input1")
    assert group.node("Output1").input(0) is switch


def test_matte_goes_to_alpha_and_foreground_to_its_own_layer():
    group = make_rvmatte()
    copy_alpha, copy_fgr = group.node("copy_alpha"), group.node("copy_fgr")
    assert copy_alpha.input(1) is group.node("alpha_read")
    assert (copy_alpha["from0"].value(), copy_alpha["to0"].value()) == ("rgba.alpha", "rgba.alpha")
    assert copy_fgr.input(1) is group.node("fgr_read")
    assert [copy_fgr["to%d" % i].value() for i in range(4)] == rvnode.FGR_CHANNELS
    assert "fgr" in nuke.layers()


def test_premultiply_knob_drives_the_internal_premult():
    group = make_rvmatte()
    assert group["premultiply"].value() is True
    assert group.node("premult")["disable"].toScript() == "{{!parent.premultiply}}"


def test_result_reads_take_the_files_as_working_space():
    group = make_rvmatte()
    for name in ("alpha_read", "fgr_read"):
        read = group.node(name)
        assert read["raw"].value() is True
        assert (read["before"].value(), read["after"].value()) == ("black", "black")


def test_knobs_have_the_documented_defaults():
    group = make_rvmatte()
    assert group["range_mode"].value() == "input"
    assert group["variant"].value() == "mobilenetv3"
    assert group["ratio_mode"].value() == "auto"
    assert group["device"].value() == "preferences"
    assert group["precision"].value() == "float32"
    assert group["input_colorspace"].value() == ""
    assert group["output_dir"].value() == rvnode.DEFAULT_OUTPUT_DIR
    assert group["foreground"].value() == "edge"
    assert group[rvnode.VERSION_KNOB].value() == rvnode.NODE_VERSION
    assert not group["rvm_state"].visible()


def test_default_output_dir_is_beside_the_script(saved_script):
    group = make_rvmatte()
    assert group["output_dir"].getEvaluatedValue() == str(saved_script / "rvmatte" / "RVMatte1")


def test_upgrade_adds_missing_knobs_and_rebuilds_internals():
    group = make_rvmatte()
    group["variant"].setValue("resnet50")
    group.removeKnob(group["views"])
    group[rvnode.VERSION_KNOB].setValue(0)
    with group:
        nuke.delete(group.node("premult"))
    assert rvnode.upgrade(group) is True
    assert group.knob("views") is not None
    assert group["variant"].value() == "resnet50"
    assert group.node("premult") is not None
    assert group[rvnode.VERSION_KNOB].value() == rvnode.NODE_VERSION


def test_upgrade_keeps_the_matte_the_node_points_at():
    group = make_rvmatte()
    read = group.node("alpha_read")
    read["file"].setValue("/m/x.alpha.####.exr")
    group.node("fgr_read")["file"].setValue("/m/x.fgr.####.exr")
    group[rvnode.VERSION_KNOB].setValue(0)
    rvnode.upgrade(group)
    assert group.node("alpha_read")["file"].value() == "/m/x.alpha.####.exr"
    assert group.node("switch")["which"].value() == 1


def test_upgrading_a_wired_node_passes_the_plate_outside_its_frames():
    """Nodes made before version 6 show their Reads' black outside the matte's frames (which = 1)."""
    group = make_rvmatte()
    for name in ("alpha_read", "fgr_read"):
        read = group.node(name)
        read["file"].setValue("/m/x.%s.####.exr" % name)
        read["first"].setValue(1001)
        read["last"].setValue(1010)
    group.node("switch")["which"].setValue(1)
    group[rvnode.VERSION_KNOB].setValue(5)
    rvnode.upgrade(group)
    assert [group.node("switch")["which"].getValueAt(f) for f in (1000, 1001, 1010, 1011)] == [0, 1, 1, 0]


def test_upgrade_leaves_current_nodes_alone():
    group = make_rvmatte()
    assert rvnode.upgrade(group) is False


def test_upgrade_all_finds_nodes_inside_groups():
    outer = nuke.nodes.Group()
    with outer:
        inner = rvnode.create_node()
    inner[rvnode.VERSION_KNOB].setValue(0)
    assert rvnode.upgrade_all() == [inner]


def test_internal_lookup_names_the_fix_when_a_node_is_missing():
    group = make_rvmatte()
    with group:
        nuke.delete(group.node("switch"))
    with pytest.raises(LookupError, match="Upgrade"):
        rvnode.internal(group, "switch")
