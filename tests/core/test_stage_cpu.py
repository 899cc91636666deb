"""bench/stage_cpu.py's clock: a call's CPU time is counted once, in the innermost stage it ran in."""
import importlib.util
import threading
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "stage_cpu.py"


def _module():
    spec = importlib.util.spec_from_file_location("stage_cpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class Work:
    def outer(self):
        _burn(0.05)
        self.inner()

    def inner(self):
        _burn(0.2)


def test_inner_stages_are_not_counted_again_in_the_outer_one():
    clock = _module().StageClock()
    clock.wrap(Work, "outer", "passes")
    clock.wrap(Work, "inner", "colour")
    try:
        Work().outer()
    finally:
        Work.outer, Work.inner = Work.outer.__wrapped__, Work.inner.__wrapped__
    passes, colour = sum(clock.totals["passes"]), sum(clock.totals["colour"])
    assert 0.18 <= colour < 0.3 and 0.03 <= passes < 0.12


def test_each_threads_time_is_its_own():
    clock = _module().StageClock()
    clock.wrap(Work, "inner", "encode")
    try:
        threads = [threading.Thread(target=Work().inner) for _ in range(2)]
        for thread in threads:
            thread.start()
        _burn(0.2)                      # the main thread's own work is in no stage
        for thread in threads:
            thread.join()
    finally:
        Work.inner = Work.inner.__wrapped__
    assert 0.38 <= sum(clock.totals["encode"]) < 0.6 and clock.main_staged == [0.0, 0.0]


def _stage_run(tmp_path, *arguments):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(SCRIPT), "--", "run", *map(str, arguments)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_wrapped_function_is_reached_by_a_real_exr_and_png_job(tmp_path):
    """A stage whose functions the engine stopped calling would read 0 s, its time counted elsewhere."""
    from shots import make_exr_shot, make_png_shot

    exr = _stage_run(tmp_path, make_exr_shot(tmp_path / "exr", frames=range(1, 3)), "-o", tmp_path / "out")
    png = _stage_run(tmp_path, make_png_shot(tmp_path / "png", 2), "--alpha", tmp_path / "p" / "a.####.png",
                     "--foreground", tmp_path / "p" / "f.####.png")
    unreached = [name for name in exr["calls"] if exr["calls"][name] + png["calls"][name] == 0]
    assert exr["calls"] and not unreached
    assert all(exr["stages"][stage][0] + png["stages"][stage][0] > 0 for stage in ("decode", "network", "encode"))
