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
is off (slower on this CPU). bf16 stays opt-in: slower here than float32.

CUDA (not measured: no GPU was available when this was written): ``seq_chunk``
4 (as the original's recommendation for GPUs), pinned host memory for the
upload, channels_last for half precision, more writer threads so encoding keeps
up with the GPU.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, replace

_MMAP_THRESHOLD = 1 << 20   # bytes; frame-sized buffers above this go straight back to the OS when freed
_M_MMAP_THRESHOLD = -3      # glibc mallopt parameter


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
    """Process-wide settings, applied by the command line before torch is imported.

    OpenMP reads its wait policy once, when torch first starts its threads, so this
    has to run first; a value the user exported is kept. Large buffers are mmapped
    (glibc) so freed frames are returned to the OS at once: peak memory then
    follows the frames in flight instead of the allocator's high-water mark.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        try:
            ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        except (OSError, AttributeError):
            pass
