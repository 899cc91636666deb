"""A Generate always ends, and never outlives or crosses its script."""
import os
import runpy
import time

import nuke

from nuke_helpers import make_read, make_rvmatte, wait_for
from rvmatte_nuke import command, generate

from staged_plugin import PLUGIN


def test_an_exception_in_the_worker_thread_ends_the_job_with_an_error(saved_script, fake_worker, monkeypatch):
    def broken(job, view_job):
        raise KeyError("views")

    monkeypatch.setattr(command, "worker_command", broken)
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    run = generate.generate(group)
    wait_for(run)
    assert group["status"].value().startswith("failed: internal error in the worker thread: KeyError")
    assert not generate.is_running(group.fullName())


def test_closing_the_script_stops_its_worker_and_wires_nothing(saved_script, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_RVMATTE_MODE", "slow")
    runpy.run_path(os.path.join(PLUGIN, "menu.py"))          # registers onScriptClose
    ended = []
    real_finish = generate._finish
    monkeypatch.setattr(generate, "_finish", lambda job, outcomes: (ended.append(outcomes), real_finish(job, outcomes)))
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 40))
    run = generate.generate(group)
    time.sleep(0.5)
    nuke.scriptClose()
    run.thread.join(30)
    assert not run.thread.is_alive(), "the worker outlived its script"
    nuke._fake.process_events()
    assert not nuke._fake.main_errors, nuke._fake.main_errors
    assert [o.status for o in ended[0]] == ["cancelled"]


def test_a_job_of_another_script_wires_no_node_of_the_same_name(saved_script, fake_worker, monkeypatch):
    group = make_rvmatte(make_read("/p/plate.####.exr", 1, 3))
    run = generate.generate(group)
    run.job.script = "/elsewhere/other_comp.nk"     # as if the artist had opened another script since
    wait_for(run)
    assert group["status"].value().startswith("generating")
    assert group.node("switch")["which"].value() == 0
