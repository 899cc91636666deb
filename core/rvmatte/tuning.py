"""Per-device speed defaults for the pipeline, and the process settings they need.

Every value here was chosen by ``bench/speed.py`` (see docs/performance.md); each
can be overridden from the command line (``--threads``, ``--writers``,
``--seq-chunk``, ``--precision``, ``--no-fold-batchnorm``).

CPU, measured on a 2-core machine shared with other jobs: the writers (PNG/EXR
encoding, which releases the GIL) and the network compete for the same cores, so
OpenMP must not spin-wait (``OMP_WAIT_POLICY=PASSIVE``: with spinning threads,
2 intra-op threads cost 4-7x the CPU time of 1), the network gets the cores
minus one for the writers, ``seq_chunk`` stays 1 (batching frames gained
nothing), BatchNorm is folded (a few % less CPU, same numbers) and channels_last
is off (slower on this CPU). bf16 stays opt-in: slower here than float32 unless
compiled (``--compile``, also opt-in: its 15-35 s build pays only on long shots).

CUDA (not measured: no GPU was available when this was written): ``seq_chunk``
4 (as the original's recommendation for GPUs), pinned host memory for the
upload, channels_last for half precision, more writer threads so encoding keeps
up with the GPU.
"""
from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass, replace

# glibc malloc: buffers from 16 MiB (a 1080p frame in float32) are mapped on their own and go back
# to the OS when freed, smaller ones are reused from one arena; mallopt parameter numbers.
_MMAP_THRESHOLD = 16 << 20
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


@dataclass(frozen=True)
class Tuning:
    """How the pipeline runs on one device."""

    threads: int              # torch intra-op threads
    writers: int              # frame-writing threads
    seq_chunk: int            # frames per forward
    fold_batchnorm: bool
    channels_last: bool
    pin_memory: bool
    prefetch: int             # frames read ahead of the network


def available_cores() -> int:
    """CPU cores this process may run on (affinity, capped by a cgroup CPU quota)."""
    from rvmatte.farm.worker import usable_cores

    return usable_cores()


def _threads_from_environment() -> int:
    """``OMP_NUM_THREADS`` when the user or a farm task set it (0 otherwise)."""
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return 0


def defaults_for(device_type: str, precision: str = "float32", cores: int | None = None) -> Tuning:
    """The speed settings for a device type (``cpu``, ``cuda``, ``mps``); ``OMP_NUM_THREADS``, when set
    (a farm task's share of the machine), is the network's thread count."""
    cores = cores or available_cores()
    tuning = _device_defaults(device_type, precision, cores)
    threads = _threads_from_environment()
    return replace(tuning, threads=threads) if threads else tuning


def _device_defaults(device_type: str, precision: str, cores: int) -> Tuning:
    if device_type == "cuda":
        return Tuning(threads=min(4, cores), writers=max(2, min(8, cores)), seq_chunk=4, fold_batchnorm=True,
                      channels_last=precision != "float32", pin_memory=True, prefetch=8)
    if device_type == "mps":
        return Tuning(threads=min(4, cores), writers=max(2, min(4, cores)), seq_chunk=1, fold_batchnorm=True,
                      channels_last=False, pin_memory=False, prefetch=4)
    return Tuning(threads=max(1, cores - 1), writers=max(1, min(4, cores)), seq_chunk=1, fold_batchnorm=True,
                  channels_last=False, pin_memory=False, prefetch=2)


def prepare_process() -> None:
    """Process-wide settings, applied by the command line before torch is imported;
    a value the user exported wins over each of them.

    OpenMP reads its wait policy once, when torch first starts its threads, so this
    has to run first. Memory (bench/speed.py, 20 frames 1080p PNG -> PNG on 2 cores):
    with glibc's defaults every frame-sized tensor was a fresh mapping whose pages the
    kernel faults in and zeroes one 4 KiB page at a time, a third of the job's CPU
    time in the kernel; torch's transparent huge pages (``THP_MEM_ALLOC_ENABLE``) make
    those faults 512x fewer, and one malloc arena with a 16 MiB mapping threshold
    keeps the peak low (0.95 GB) while smaller buffers are reused.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    settings = ((_M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", _MMAP_THRESHOLD), (_M_ARENA_MAX, "MALLOC_ARENA_MAX", 1))
    try:
        libc = ctypes.CDLL("libc.so.6")
        for parameter, variable, value in settings:
            if variable not in os.environ:
                libc.mallopt(parameter, value)
    except (OSError, AttributeError):
        pass


HELPER_NICENESS = 5


def lower_thread_priority(steps: int = HELPER_NICENESS) -> None:
    """Make the calling thread ``steps`` nice levels kinder to the others (Linux: per thread).

    Readers and writers have slack where the network has none: on 2 cores, with all of
    them at one priority the scheduler shared the network's core with them and a frame
    took 50 % longer in the network than alone. A helper at a lower priority still runs
    whenever the network waits (and the network waits for it when frames pile up).
    """
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except (AttributeError, OSError):
        pass

