"""The RVMatte node's panel as an artist meets it: knobs on sensible lines, knobs that only matter
for one choice hidden until it is made, one undo step for the new node, a custom range starting
as the input's, and the panel open after Tab > RVMatte."""
import os
import runpy

import nuke
import pytest

from nuke_helpers import make_read, make_rvmatte
from rvmatte_nuke import node as rvnode

from staged_plugin import PLUGIN


@pytest.fixture
def menu():
    """The GUI start-up (menu.py), which registers the knobChanged callback."""
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))


def panel_rows(group):
    """The visible knobs of the RVMatte tab, grouped into the panel's lines by STARTLINE."""
    rows = []
    for knob in group.allKnobs()[group.allKnobs().index(group["rvmatte_tab"]) + 1:]:
        if not knob.visible():
            continue
        if knob.getFlag(nuke.STARTLINE) or not rows:
            rows.append([])
        rows[-1].append(knob.name())
    return rows


def row_of(group, name):
    return next(row for row in panel_rows(group) if name in row)


def test_first_and_last_sit_beside_the_range_choice_once_custom(menu):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010))
    nuke._fake.user_sets(group["range_mode"], "custom")
    assert row_of(group, "range_mode") == ["range_mode", "range_first", "range_last"]


def test_the_ratio_value_sits_beside_its_mode_once_chosen(menu):
    group = make_rvmatte()
    nuke._fake.user_sets(group["ratio_mode"], "value")
    assert row_of(group, "ratio_mode") == ["ratio_mode", "ratio"]


@pytest.mark.parametrize("name", ["premultiply", "pick_point", "use_tuned", "generate"])
def test_checkboxes_and_generate_start_their_own_line(name):
    group = make_rvmatte()
    group["pick_point"].setValue(True)
    rvnode.show_dependent_knobs(group)
    assert row_of(group, name)[0] == name


def test_generate_resume_and_load_results_share_one_line():
    group = make_rvmatte()
    assert row_of(group, "generate") == ["generate", "load_results"]
    group["resume"].setVisible(True)               # once there is something to resume
    assert row_of(group, "generate") == ["generate", "resume", "load_results"]


def test_the_custom_range_and_ratio_are_hidden_until_chosen():
    group = make_rvmatte()
    assert not any(group[name].visible() for name in ("range_first", "range_last", "ratio"))


def test_choosing_custom_in_the_panel_shows_first_and_last(menu):
    group = make_rvmatte()
    nuke._fake.user_sets(group["range_mode"], "custom")
    assert group["range_first"].visible() and group["range_last"].visible()
    nuke._fake.user_sets(group["range_mode"], "input")
    assert not group["range_first"].visible()


def test_the_point_knobs_appear_with_pick_a_person_by_a_point(menu):
    group = make_rvmatte()
    point_knobs = ("target_point", "target_frame", "point_here", "point_name")
    assert not any(group[name].visible() for name in point_knobs)
    nuke._fake.user_sets(group["pick_point"], True)
    assert all(group[name].visible() for name in point_knobs)
    assert row_of(group, "target_point") == ["target_point", "target_frame", "point_here"]


def test_an_opened_panel_of_a_loaded_node_hides_what_its_choices_leave_unused(menu):
    group = make_rvmatte()
    nuke._fake.user_sets(group["range_mode"], "custom")
    group["range_mode"].setValue("input")      # as a script loads it: no knobChanged
    group["range_first"].setVisible(True)
    group.showControlPanel()
    assert not group["range_first"].visible()


def test_the_hidden_record_knobs_stay_hidden_whatever_is_chosen(menu):
    group = make_rvmatte()
    nuke._fake.user_sets(group["range_mode"], "custom")
    group.showControlPanel()
    assert not any(group[name].visible() for name in rvnode.HIDDEN)


def test_creating_the_node_is_one_undo_step():
    plate = make_read("/p/plate.####.exr", 1001, 1010)
    before = len(nuke._fake.undo_steps)
    make_rvmatte(plate)
    steps = nuke._fake.undo_steps[before:]
    assert [name for name, _ in steps] == ["Create RVMatte"]
    assert "connect RVMatte1 input 0" in steps[0][1]


def test_the_custom_range_starts_as_the_inputs_range():
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1048))
    assert (group["range_first"].value(), group["range_last"].value()) == (1001, 1048)


def test_without_an_input_the_custom_range_starts_as_the_scripts():
    nuke.root()["first_frame"].setValue(1001)
    nuke.root()["last_frame"].setValue(1100)
    group = make_rvmatte()
    assert (group["range_first"].value(), group["range_last"].value()) == (1001, 1100)


def test_choosing_custom_starts_from_the_range_of_the_plate_connected_now(menu):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010))
    group.setInput(0, make_read("/p/other.####.exr", 1, 24))
    nuke._fake.user_sets(group["range_mode"], "custom")
    assert (group["range_first"].value(), group["range_last"].value()) == (1, 24)


def test_a_custom_range_is_kept_when_the_input_changes(menu):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010))
    nuke._fake.user_sets(group["range_mode"], "custom")
    nuke._fake.user_sets(group["range_first"], 1003)
    group.setInput(0, make_read("/p/other.####.exr", 1, 24))
    group.showControlPanel()
    assert (group["range_first"].value(), group["range_last"].value()) == (1003, 1010)


def test_opening_the_panel_of_a_loaded_node_changes_no_knob_value(menu):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1001, 1010))
    group["range_first"].setValue(1)           # a node saved by an older plugin: 1-100
    group["range_last"].setValue(100)
    before = len(nuke._fake.undo_steps)
    group.showControlPanel()
    assert [name for name, _ in nuke._fake.undo_steps[before:]] == []


def test_the_panel_opens_on_creation():
    group = make_rvmatte()
    assert nuke._fake.open_panels == [group]


def test_no_panel_opens_without_the_gui(monkeypatch):
    monkeypatch.setattr(nuke, "GUI", False)
    make_rvmatte()
    assert nuke._fake.open_panels == []
