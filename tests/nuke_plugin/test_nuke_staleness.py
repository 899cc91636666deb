"""The stale flag lights when the upstream or the matte settings change after
a matte was made, and only then."""
import nuke

from nuke_helpers import make_read, make_rvmatte
from rvmatte_nuke import staleness, wiring


def made_matte():
    grade = nuke.nodes.Grade()
    grade.setInput(0, make_read("/p/plate.####.exr", 1, 10))
    group = make_rvmatte(grade)
    group["rvm_state"].setValue(staleness.state_hash(group))
    return group, grade


def test_a_node_without_a_matte_is_not_stale():
    assert staleness.is_stale(make_rvmatte(make_read("/p/plate.####.exr", 1, 10))) is False


def test_fresh_matte_is_not_stale():
    group, _ = made_matte()
    assert staleness.is_stale(group) is False


def test_changing_an_upstream_knob_makes_it_stale():
    group, grade = made_matte()
    grade["white"].setValue(1.2)
    assert staleness.is_stale(group) is True


def test_changing_the_plate_file_makes_it_stale():
    group, grade = made_matte()
    grade.input(0)["file"].setValue("/p/other.####.exr")
    assert staleness.is_stale(group) is True


def test_rewiring_the_upstream_makes_it_stale():
    group, grade = made_matte()
    blur = nuke.nodes.Blur()
    blur.setInput(0, grade.input(0))
    group.setInput(0, blur)
    assert staleness.is_stale(group) is True


def test_changing_a_matte_setting_makes_it_stale():
    group, _ = made_matte()
    group["variant"].setValue("resnet50")
    assert staleness.is_stale(group) is True


def test_moving_or_renaming_upstream_nodes_does_not():
    group, grade = made_matte()
    grade.setXYpos(500, 500)
    grade.setName("ColourFix")
    grade["label"].setValue("note")
    assert staleness.is_stale(group) is False


def test_toggling_premultiply_does_not():
    group, _ = made_matte()
    group["premultiply"].setValue(False)
    assert staleness.is_stale(group) is False


def test_refresh_marks_the_status_and_colour_and_clears_them_again():
    group, grade = made_matte()
    group["status"].setValue("matte 1-10")
    grade["white"].setValue(2.0)
    assert wiring.refresh_stale(group) is True
    assert group["status"].value() == "STALE: matte 1-10"
    assert group["tile_color"].value() == wiring.STALE_COLOR
    grade["white"].setValue(1.0)
    assert wiring.refresh_stale(group) is False
    assert group["status"].value() == "matte 1-10"
    assert group["tile_color"].value() == 0


def test_a_re_rendered_plate_makes_it_stale(tmp_path):
    for frame in (1, 2, 3):
        (tmp_path / ("plate.%04d.exr" % frame)).write_bytes(b"v1")
    group = make_rvmatte(make_read(str(tmp_path / "plate.####.exr"), 1, 3))
    group["rvm_state"].setValue(staleness.state_hash(group))
    assert staleness.is_stale(group) is False
    (tmp_path / "plate.0003.exr").write_bytes(b"version 2")
    assert staleness.is_stale(group) is True


def made_in_context(tmp_path, monkeypatch):
    """A matte made with a weights file the node names, its context recorded as Generate does."""
    import json

    weights = tmp_path / "rvm.pth"
    weights.write_bytes(b"weights one")
    for name in ("RVMATTE_CONFIG", "RVMATTE_WEIGHTS", "OCIO"):
        monkeypatch.delenv(name, raising=False)
    group, grade = made_matte()
    group["weights"].setValue(str(weights))
    group["rvm_state"].setValue(staleness.state_hash(group))
    group["rvm_result"].setValue(json.dumps({"context": staleness.current_context(group)}))
    return group, weights


def test_a_matte_in_its_own_context_is_not_stale(tmp_path, monkeypatch):
    group, _ = made_in_context(tmp_path, monkeypatch)
    assert staleness.current_context(group) is not None
    assert staleness.is_stale(group) is False


def test_another_working_space_makes_it_stale(tmp_path, monkeypatch):
    group, _ = made_in_context(tmp_path, monkeypatch)
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    assert staleness.is_stale(group) is True


def test_another_ocio_config_makes_it_stale(tmp_path, monkeypatch):
    group, _ = made_in_context(tmp_path, monkeypatch)
    config = tmp_path / "studio.ocio"
    config.write_text("ocio_profile_version: 2\n")
    monkeypatch.setenv("OCIO", str(config))
    assert staleness.is_stale(group) is True


def test_a_replaced_weights_file_makes_it_stale(tmp_path, monkeypatch):
    import os

    group, weights = made_in_context(tmp_path, monkeypatch)
    weights.write_bytes(b"weights two, retrained")
    os.utime(str(weights), (1e9, 1e9))
    assert staleness.is_stale(group) is True


def test_a_matte_made_before_the_context_was_recorded_is_judged_by_its_graph_only(tmp_path, monkeypatch):
    group, _ = made_in_context(tmp_path, monkeypatch)
    group["rvm_result"].setValue('{"first": 1, "last": 10}')
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    assert staleness.is_stale(group) is False


def test_a_new_matte_records_its_hash_in_scheme_2():
    group, _ = made_matte()
    assert group["rvm_state"].value().startswith("2:")


def test_a_knob_another_nuke_adds_at_its_default_does_not_make_it_stale():
    group, grade = made_matte()
    grade.addKnob(nuke.Double_Knob("mix_luminance", "mix luminance"))
    assert staleness.is_stale(group) is False


def test_another_nukes_way_of_writing_a_value_does_not_make_it_stale(monkeypatch):
    group, grade = made_matte()
    grade["white"].setValue(1.25)
    group["rvm_state"].setValue(staleness.state_hash(group))
    monkeypatch.setattr(nuke.Double_Knob, "toScript", lambda self, quote=False, context=None: "%.6f" % self._value)
    assert staleness.is_stale(group) is False


def test_a_matte_hashed_in_scheme_1_is_judged_in_scheme_1():
    group, grade = made_matte()
    group["rvm_state"].setValue(staleness.state_hash(group, scheme=1))
    assert staleness.is_stale(group) is False
    grade["white"].setValue(1.2)
    assert staleness.is_stale(group) is True


def test_the_hidden_first_and_last_do_not_count_while_the_range_is_the_inputs():
    group, _ = made_matte()
    group["range_first"].setValue(3)
    assert staleness.is_stale(group) is False
    group["range_mode"].setValue("custom")
    assert staleness.is_stale(group) is True


def test_the_gui_check_hashes_again_only_after_an_edit_or_a_while(monkeypatch):
    import os
    import runpy
    from staged_plugin import PLUGIN

    callbacks = runpy.run_path(os.path.join(PLUGIN, "menu.py"))
    group, grade = made_matte()
    hashed = []
    real = staleness.state_hash
    monkeypatch.setattr(staleness, "state_hash", lambda node, scheme=2: hashed.append(1) or real(node, scheme))
    clock = [1000.0]
    monkeypatch.setattr("time.time", lambda: clock[0])
    refresh = callbacks["_refresh_stale_flag"]

    def update_ui():
        nuke._fake.this_node = group
        try:
            refresh()
        finally:
            nuke._fake.this_node = None

    update_ui()
    clock[0] += 1
    update_ui()
    assert len(hashed) == 1
    nuke._fake.user_sets(grade["white"], 1.3)
    update_ui()
    assert len(hashed) == 2 and group["status"].value().startswith("STALE: ")
    clock[0] += staleness.Watch.RECHECK_S
    update_ui()
    assert len(hashed) == 3


def engine_with(root, version):
    """A worker environment as pip leaves it: bin/python and rvmatte's dist-info folder."""
    import os

    (root / "bin").mkdir(parents=True, exist_ok=True)
    python = root / "bin" / "python"
    python.write_text("")
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    for old in site.glob("rvmatte-*.dist-info"):
        os.rename(str(old), str(site / ("rvmatte-%s.dist-info" % version)))
    (site / ("rvmatte-%s.dist-info" % version)).mkdir(exist_ok=True)
    return str(python)


def test_an_engine_upgraded_to_another_rvmatte_makes_it_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("RVMATTE_PYTHON", engine_with(tmp_path / "engine", "0.9.0"))
    group, _ = made_in_context(tmp_path, monkeypatch)
    assert "rvmatte=0.9.0" in staleness.current_context(group)
    assert staleness.is_stale(group) is False
    engine_with(tmp_path / "engine", "0.10.0")
    assert staleness.is_stale(group) is True


def test_a_record_without_the_engine_version_is_judged_by_the_rest(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("RVMATTE_PYTHON", engine_with(tmp_path / "engine", "0.9.0"))
    group, _ = made_in_context(tmp_path, monkeypatch)
    record = json.loads(group["rvm_result"].value())
    record["context"] = record["context"].replace("\0rvmatte=0.9.0", "")    # made by the previous plugin
    group["rvm_result"].setValue(json.dumps(record))
    assert staleness.is_stale(group) is False
    nuke.root()["workingSpaceLUT"].setValue("ACES - ACEScg")
    assert staleness.is_stale(group) is True
