"""What a GPU run checks and sets before its first frame: the VRAM budget and determinism.

**Budget.** A shot's shapes are fixed, so the memory its forward needs is known after one
forward: a 4K shot that will not fit an 8 GB card must say so before frame one is written,
never die at frame 900. ``check_vram_budget`` runs one forward of a blank chunk with a fresh
state (its output is thrown away), reads the peak allocation, and fails with one line naming
the frame size, ratio, chunk, precision and the free memory when the peak does not fit with a
safety margin (the writers, the caching allocator's fragmentation and other processes on the
card need room too); a CUDA out-of-memory during that forward says the same.

**Determinism** (``--deterministic``, for farms that compare reruns bit for bit): cuDNN picks
fixed algorithms (``deterministic``, no ``benchmark`` autotuning), TF32 is off for
convolutions and matrix products (float32 means float32), and PyTorch's deterministic
algorithms are asked for. It costs speed on the GPU (TF32 is what makes float32 convolutions
fast on Ampere and later; not measured here: no GPU was lent) and changes the bits of a
float32 GPU run, so it is part of the result key. On the CPU it changes nothing.
"""
from __future__ import annotations

import os
from typing import Callable, Optional, Tuple

from rvmatte.errors import RvmatteError

SAFETY = 0.85           # the dry run's peak may use this share of the free memory


class VramError(RvmatteError):
    """The shot's forward does not fit the GPU's free memory."""


def set_deterministic(enabled: bool) -> Callable[[], None]:
    """Set the process's GPU arithmetic (see the module's docstring); returns a function that
    puts back what was there before (a host or test process runs on after the job)."""
    import torch

    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32,
              torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # deterministic cuBLAS (before CUDA init)
        matmul.allow_tf32 = False
    cudnn.deterministic = enabled
    cudnn.benchmark = False
    cudnn.allow_tf32 = not enabled
    torch.use_deterministic_algorithms(enabled, warn_only=True)

    def restore() -> None:
        cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = before[:4]
        torch.use_deterministic_algorithms(before[4], warn_only=before[5])

    return restore


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def budget_failure(peak: Optional[int], free: int, total: int, what: str) -> Optional[str]:
    """The error text when a forward peaking at ``peak`` bytes does not fit ``free`` (None if it does).
    ``peak`` None: the forward itself ran out of memory."""
    fixes = "lower --seq-chunk, use --precision float16, or a smaller --downsample-ratio"
    if peak is None:
        return (f"{what} does not fit the GPU: one forward ran out of memory with {_gib(free)} of "
                f"{_gib(total)} free; {fixes}")
    if peak > SAFETY * free:
        return (f"{what} needs {_gib(peak)} on the GPU for one forward, but only {_gib(free)} of "
                f"{_gib(total)} is free (at most {SAFETY:.0%} of it may be used); {fixes}")
    return None


def check_vram_budget(forward: Callable[[], None], what: str,
                      memory: Optional[Callable[[], Tuple[int, int]]] = None,
                      peak: Optional[Callable[[], int]] = None,
                      reset_peak: Optional[Callable[[], None]] = None) -> Optional[int]:
    """Run ``forward`` once and check its peak against the free memory; returns the peak in
    bytes. The three callables default to ``torch.cuda``'s (``mem_get_info``,
    ``max_memory_allocated``, ``reset_peak_memory_stats``) and are parameters so the logic is
    tested without a GPU."""
    import torch

    memory = memory or torch.cuda.mem_get_info
    peak = peak or torch.cuda.max_memory_allocated
    reset_peak = reset_peak or torch.cuda.reset_peak_memory_stats
    free, total = memory()
    reset_peak()
    try:
        forward()
    except torch.cuda.OutOfMemoryError:
        raise VramError(budget_failure(None, free, total, what)) from None
    used = peak()
    message = budget_failure(used, free, total, what)
    if message:
        raise VramError(message)
    return used


def dry_run(model, height: int, width: int, chunk: int, ratio: float) -> Callable[[], None]:
    """One forward of a blank chunk of the shot's shape with a fresh state (output discarded)."""
    import torch

    param = next(model.parameters())

    def forward() -> None:
        src = torch.zeros(1, chunk, 3, height, width, device=param.device, dtype=param.dtype)
        with torch.inference_mode():
            model(src, downsample_ratio=ratio)
        del src

    return forward
