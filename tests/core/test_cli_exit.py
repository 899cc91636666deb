"""How an `rvmatte run` process ends: as Python would, without its teardown of every module.

Each test runs a small driver in a fresh interpreter that plants what a normal shutdown would
show (an atexit handler, an object whose destructor runs only when the modules are cleared, a
non-daemon thread) and then calls the command's entry point, as `python -m rvmatte` does.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shots import make_exr_shot

CORE = str(Path(__file__).resolve().parents[2] / "core")
FAST = ["--downsample-ratio", "0.5", "--device", "cpu", "--progress", "none"]

DRIVER = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path
    from rvmatte.cli import entry

    atexit.register(lambda: print("atexit ran", flush=True))

    class Teardown:
        def __del__(self):
            print("module teardown ran", flush=True)

    kept = Teardown()                    # freed only when Python clears this module at shutdown
    late = sys.argv.pop(1)
    if late != "-":
        def write_late():
            time.sleep(0.5)
            Path(late).write_text("done")
        threading.Thread(target=write_late).start()      # non-daemon: Python's shutdown waits for it
    print("unflushed output", end="")    # still in stdout's buffer when the command ends
    sys.exit(entry())
""")


@pytest.fixture
def shot(tmp_path):
    return make_exr_shot(tmp_path / "in", frames=range(1001, 1003))


def _drive(tmp_path, args, late="-"):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = dict(os.environ, PYTHONPATH=CORE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(driver), str(late), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_finished_run_skips_the_module_teardown_but_runs_atexit(shot, tmp_path):
    done = _drive(tmp_path, ["run", shot, "-o", tmp_path / "out", *FAST])
    assert done.returncode == 0, done.stderr
    assert "atexit ran" in done.stdout and "unflushed output" in done.stdout
    assert "module teardown ran" not in done.stdout
    assert len(list((tmp_path / "out").glob("plate.alpha.*.exr"))) == 2


def test_a_failed_run_keeps_its_exit_code(tmp_path):
    done = _drive(tmp_path, ["run", tmp_path / "missing.####.exr", "-o", tmp_path / "out", *FAST])
    assert done.returncode == 1
    assert "rvmatte: error:" in done.stderr
    assert "atexit ran" in done.stdout and "module teardown ran" not in done.stdout


def test_the_process_still_waits_for_its_other_threads(shot, tmp_path):
    late = tmp_path / "late.txt"
    done = _drive(tmp_path, ["run", shot, "-o", tmp_path / "out", *FAST], late=late)
    assert done.returncode == 0, done.stderr
    assert late.read_text() == "done"


def test_other_commands_end_as_python_ends_them(shot, tmp_path):
    done = _drive(tmp_path, ["info", shot])
    assert done.returncode == 0
    assert "module teardown ran" in done.stdout
