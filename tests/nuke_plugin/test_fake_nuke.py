"""The fake `nuke` is strict where Nuke is: these pin the behaviours the
plugin's tests rely on (main-thread only node access, no executeInMainThread
from the main thread, int progress, stock classes only...)."""
import threading

import nuke
import pytest


def in_thread(call):
    errors = []

    def run():
        try:
            call()
        except Exception as exc:
            errors.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return errors


def test_node_access_from_another_thread_raises():
    read = nuke.nodes.Read()
    (error,) = in_thread(lambda: read["file"].value())
    assert isinstance(error, RuntimeError) and "main thread" in str(error)


def test_creating_nodes_from_another_thread_raises():
    (error,) = in_thread(lambda: nuke.nodes.Grade())
    assert isinstance(error, RuntimeError)


def test_execute_in_main_thread_from_the_main_thread_raises_instead_of_hanging():
    with pytest.raises(RuntimeError, match="hang"):
        nuke.executeInMainThread(lambda: None)
    with pytest.raises(RuntimeError, match="hang"):
        nuke.executeInMainThreadWithResult(lambda: None)


def test_execute_in_main_thread_runs_the_call_when_the_main_thread_is_free():
    read = nuke.nodes.Read()

    def set_file(path):
        read["file"].setValue(path)
    assert in_thread(lambda: nuke.executeInMainThread(set_file, ("/a.####.exr",))) == []
    assert read["file"].value() == ""
    nuke._fake.process_events()
    assert read["file"].value() == "/a.####.exr"


def test_progress_task_takes_an_int():
    task = nuke.ProgressTask("x")
    with pytest.raises(TypeError):
        task.setProgress(12.5)
    task.setProgress(12)
    assert task.progress == [12]


def test_unknown_node_classes_raise():
    with pytest.raises(RuntimeError, match="Unknown command"):
        nuke.createNode("RVMatte")


def test_write_has_exr_knobs_only_once_it_writes_exr():
    write = nuke.nodes.Write()
    assert write.knob("datatype") is None
    write["file_type"].setValue("exr")
    assert write.knob("datatype") is not None


def test_enumerations_refuse_unknown_values():
    with pytest.raises(ValueError):
        nuke.nodes.Read()["before"].setValue("freeze")


def test_copy_channels_need_their_layer():
    copy = nuke.nodes.Copy()
    with pytest.raises(ValueError):
        copy["to0"].setValue("fgr.red")
    nuke.Layer("fgr", ["fgr.red"])
    copy["to0"].setValue("fgr.red")


def test_create_node_connects_to_the_selected_node_with_the_gui_up():
    read = nuke.nodes.Read()
    read.setSelected(True)
    grade = nuke.createNode("Grade")
    assert grade.input(0) is read and grade.isSelected() and not read.isSelected()


def test_group_script_buttons_run_inside_the_group():
    group = nuke.nodes.Group()
    group.addKnob(nuke.PyScript_Knob("go", "go", "nuke.createNode('NoOp')"))
    nuke._fake.press(group["go"])
    assert [n.Class() for n in group.nodes()] == ["NoOp"]
    assert nuke.allNodes("NoOp") == []


def test_deleted_nodes_raise_on_use():
    grade = nuke.nodes.Grade()
    nuke.delete(grade)
    with pytest.raises(ValueError, match="not attached"):
        grade.name()


def test_execute_renders_through_the_hook_and_records_proxy_mode():
    write = nuke.nodes.Write(file="/x/a.####.exr")
    seen = []
    nuke._fake.render_hook = lambda node, frame, view: seen.append(frame)
    nuke.root()["proxy"].setValue(True)
    nuke.execute(write, 3, 5)
    assert seen == [3, 4, 5] and nuke._fake.executions[0]["proxy"] is True


def test_file_knob_evaluates_tcl_and_sequence_notation():
    nuke.root()["name"].setValue("/shots/a/comp_v001.nk")
    read = nuke.nodes.Read()
    read["file"].setValue("[file dirname [value root.name]]/out/[value name].####.exr")
    assert read["file"].getEvaluatedValue() == "/shots/a/out/Read1.%04d.exr"


def test_to_node_resolves_names_in_the_current_group():
    group = nuke.nodes.Group()
    with group:
        inner = nuke.nodes.NoOp()
        assert nuke.toNode("NoOp1") is inner
        assert nuke.toNode("Group1.NoOp1") is None
        assert nuke.toNode("root.Group1.NoOp1") is inner
    assert nuke.toNode("Group1.NoOp1") is inner


def test_a_group_has_one_input_per_input_node_numbered_in_creation_order():
    group = nuke.nodes.Group()
    with group:
        first, second = nuke.nodes.Input(name="plate"), nuke.nodes.Input(name="mask")
    assert (first["number"].value(), second["number"].value()) == (0, 1)
    assert group.maxInputs() == 2
    source = nuke.nodes.NoOp()
    assert group.setInput(1, source) and group.input(1) is source and group.inputs() == 2
    assert group.setInput(2, source) is False


def test_a_knob_with_an_expression_gives_its_result_at_the_current_frame():
    group = nuke.nodes.Group()
    with group:
        read = nuke.nodes.Read(name="alpha_read", first=1001, last=1004)
        switch = nuke.nodes.Switch()
    switch["which"].setExpression("inrange(frame, alpha_read.first, alpha_read.last)")
    assert switch["which"].hasExpression() and read["first"].hasExpression() is False
    nuke.frame(1000)
    assert switch["which"].value() == 0
    nuke.frame(1004)
    assert switch["which"].value() == 1
    assert [switch["which"].getValueAt(f) for f in (1000, 1001, 1004, 1005)] == [0, 1, 1, 0]


def test_an_expression_reads_the_parent_group_and_coerces_to_the_knob_type():
    group = nuke.nodes.Group()
    group.addKnob(nuke.Boolean_Knob("premultiply", "premultiply"))
    with group:
        premult = nuke.nodes.Premult()
    premult["disable"].setExpression("!parent.premultiply")
    assert premult["disable"].value() is True
    group["premultiply"].setValue(True)
    assert premult["disable"].value() is False


def test_a_bad_expression_raises_naming_it():
    blur = nuke.nodes.Blur()
    blur["size"].setExpression("nosuch.size * 2")
    with pytest.raises(RuntimeError, match="no such knob nosuch.size"):
        blur["size"].value()
    blur["size"].setExpression("frame > 3 ? 10 : 1 +")
    with pytest.raises(RuntimeError, match="expected more"):
        blur["size"].getValueAt(5)
