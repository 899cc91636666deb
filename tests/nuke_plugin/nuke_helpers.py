"""Shared steps of the plugin tests (the fake `nuke` is on sys.path via conftest)."""
import os
import sys

import nuke


def make_read(path, first, last, **knobs):
    """A Read of an image sequence as the file browser makes it."""
    read = nuke.nodes.Read()
    read["file"].fromUserText("%s %d-%d" % (path, first, last))
    read["origset"].setValue(True)
    for key, value in knobs.items():
        read[key].setValue(value)
    return read


def make_rvmatte(upstream=None):
    from rvmatte_nuke import node as rvnode
    if upstream is not None:
        for n in nuke.selectedNodes():
            n.setSelected(False)
        upstream.setSelected(True)
    return rvnode.create_node()


def graded_rvmatte(read, first, last):
    """``read`` through a Grade into an RVMatte node with the custom range first..last (the Grade makes
    Generate render a precomp). Returns (grade, node)."""
    grade = nuke.nodes.Grade()
    grade.setInput(0, read)
    group = make_rvmatte(grade)
    group["range_mode"].setValue("custom")
    group["range_first"].setValue(first)
    group["range_last"].setValue(last)
    return grade, group


def wait_for(run, timeout=60):
    """Pumps Nuke's main-thread queue until the Generate has finished."""
    from rvmatte_nuke import generate
    ok = nuke._fake.process_events(until=lambda: not generate.is_running(run.job.node_name), timeout=timeout)
    assert ok, "the Generate did not finish in %s s" % timeout
    nuke._fake.process_events()
    assert not nuke._fake.main_errors, nuke._fake.main_errors


FAKE_WORKER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_worker")


def fake_interpreter(folder):
    """An interpreter whose `-m rvmatte` is the fake worker. The plugin gives the worker a clean
    environment (no PYTHONPATH), so the fake is put on the path by the interpreter itself."""
    path = os.path.join(str(folder), "fake-python")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nPYTHONPATH="%s" exec "%s" "$@"\n' % (FAKE_WORKER_PATH, sys.executable))
    os.chmod(path, 0o755)
    return path
