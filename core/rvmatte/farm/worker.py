"""What a farm worker offers a task: the CPU cores it may use."""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def usable_cores(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota.

    A container limited with a quota (``docker --cpus``, Kubernetes limits) still
    shows every host core in its affinity mask; the quota is what it really gets.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        cores = min(cores, max(1, int(quota + 0.5)))
    return max(1, cores)


def thread_settings(threads: int) -> dict[str, str]:
    """Environment variables that give a task ``threads`` CPU threads (0: every usable core)."""
    count = threads if threads > 0 else usable_cores()
    return {name: str(count) for name in THREAD_VARIABLES}


def openjd_env_lines(settings: dict[str, str]) -> list[str]:
    """Open Job Description stdout lines that set variables for the rest of the session."""
    return [f"openjd_env: {name}={value}" for name, value in settings.items()]


def _cgroup_quota(root: str) -> float | None:
    """CPUs allowed by cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``; None when unlimited."""
    try:
        with open(os.path.join(root, "cpu.max"), encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(root, "cpu", "cpu.cfs_quota_us"), encoding="ascii") as handle:
            quota = int(handle.read())
        with open(os.path.join(root, "cpu", "cpu.cfs_period_us"), encoding="ascii") as handle:
            period = int(handle.read())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None
