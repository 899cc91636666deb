"""CPU seconds per stage of one ``rvmatte run`` (bench/speed.py's ``stages`` rows).

Runs the job in this process with the pipeline's functions wrapped: each wrapper reads its
own thread's CPU clock (``getrusage(RUSAGE_THREAD)``: user and system apart) before and after
the call, and a call's time is counted once, in the innermost stage it is in (a colour
conversion inside a writer's call counts as colour, not as the writer's). Stages:

- decode: reading and decoding the input frames (reader thread);
- colour: conversions to the model's space and back, NaN cleaning, the foreground's colour
  and premultiplication (reader and writer threads);
- network: the forward of every stream (the main thread; with more than one intra-op thread
  the others' time lands in "other");
- encode: the writer's own work on the pixels (PNG: clip, quantise, filter and deflate; EXR:
  the float → half conversion);
- write: temp file, the bytes and the rename (for EXR, OpenImageIO compresses while it writes:
  that compression is counted here, mostly as user time);
- passes: the rest of the writer threads' work (masks, review, sidecars);
- main: the main thread outside the stages (imports, model loading, the loop itself);
- threads: every other thread's CPU outside the stages: OpenEXR's and OpenImageIO's own thread
  pools (EXR compression and decompression run there, not in the reader or writer threads),
  OpenMP helpers when torch has more than one thread, the pipeline threads' own overhead.

    PYTHONPATH=core .venv/bin/python bench/stage_cpu.py -- run plate.####.png -o out --downsample-ratio 0.25

prints one JSON object: ``{"wall": s, "cpu": s, "stages": {name: [user, sys]}, "calls": {function: n}}``
(``calls``: how often each wrapped function ran — a stage whose functions the job no longer calls
would otherwise read 0 s and its time land elsewhere).
"""
from __future__ import annotations

import functools
import json
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

STAGES = ("decode", "colour", "network", "encode", "write", "passes")


class StageClock:
    """Exclusive user/system CPU seconds per stage, summed over threads."""

    def __init__(self):
        self.totals = {name: [0.0, 0.0] for name in STAGES}
        self.main_staged = [0.0, 0.0]            # of the totals, what ran on the main thread
        self.calls = {}                          # "Owner.attribute": calls, so a wrapper the code no longer reaches shows
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap(self, owner, attribute: str, stage: str) -> None:
        original = getattr(owner, attribute)
        clock = self
        name = f"{getattr(owner, '__name__', owner)}.{attribute}"
        self.calls[name] = 0

        @functools.wraps(original)
        def timed(*args, **kwargs):
            stack = clock._stack()
            stack.append([0.0, 0.0])             # time spent in stages called from this one
            before = resource.getrusage(resource.RUSAGE_THREAD)
            try:
                return original(*args, **kwargs)
            finally:
                after = resource.getrusage(resource.RUSAGE_THREAD)
                inner = stack.pop()
                user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
                with clock._lock:
                    clock.calls[name] += 1
                    clock.totals[stage][0] += user - inner[0]
                    clock.totals[stage][1] += system - inner[1]
                    if not stack and threading.current_thread() is threading.main_thread():
                        clock.main_staged[0] += user
                        clock.main_staged[1] += system
                if stack:
                    stack[-1][0] += user
                    stack[-1][1] += system

        setattr(owner, attribute, timed)

    def _stack(self) -> list:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack


def instrument(clock: StageClock) -> None:
    import rvmatte.engine as engine
    import rvmatte.io as io
    import rvmatte.io.writing as writing
    from rvmatte.ensemble import ForwardStreams
    from rvmatte.io.colour import ColourPipeline
    from rvmatte.io.images import ImageSequenceSource

    clock.wrap(ImageSequenceSource, "read_frame", "decode")
    clock.wrap(ColourPipeline, "convert", "colour")
    clock.wrap(engine, "clean_nonfinite", "colour")
    from rvmatte.passes import ForegroundColour

    for name in ("linear", "premultiplied", "display"):     # the passes call these, not the Job's
        clock.wrap(ForegroundColour, name, "colour")
    clock.wrap(ForwardStreams, "infer_tensors", "network")
    clock.wrap(writing, "write_frame", "encode")
    io.write_frame = writing.write_frame                    # the engine imports it from rvmatte.io
    clock.wrap(writing, "_replace_atomically", "write")
    clock.wrap(engine.Job, "_write", "passes")


def main(argv) -> int:
    from rvmatte.tuning import prepare_process

    prepare_process()               # before torch loads, as the command line does
    from rvmatte.cli import main as rvmatte_main

    clock = StageClock()
    instrument(clock)
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    main_before = resource.getrusage(resource.RUSAGE_THREAD)
    code = rvmatte_main(list(argv))
    main_after = resource.getrusage(resource.RUSAGE_THREAD)
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - start
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    stages = {k: [u, s] for k, (u, s) in clock.totals.items()}
    stages["main"] = [main_after.ru_utime - main_before.ru_utime - clock.main_staged[0],
                      main_after.ru_stime - main_before.ru_stime - clock.main_staged[1]]
    staged = sum(u + s for u, s in stages.values())
    stages["threads"] = [cpu - staged, 0.0]          # user and system together
    print(json.dumps({"wall": wall, "cpu": cpu, "code": code, "calls": clock.calls,
                      "stages": {k: [round(u, 3), round(s, 3)] for k, (u, s) in stages.items()}}))
    return code


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    sys.exit(main(arguments))
