"""Choosing the torch device and precision."""
from __future__ import annotations

from rvmatte.errors import RvmatteError

PRECISIONS = ("float32", "float16", "bfloat16")


class DeviceError(RvmatteError):
    """A requested device or precision that this machine cannot provide."""


def resolve_device(spec: str = "auto"):
    """``auto`` → cuda → mps → cpu; an explicit device that is missing is an error, never a fallback."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise DeviceError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r} was asked for but CUDA is not available "
                              f"(torch {torch.__version__} build, no GPU or driver)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {spec!r} does not exist: {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise DeviceError(f"device {spec!r} was asked for but MPS is not available")
    elif device.type != "cpu":
        raise DeviceError(f"unsupported device {spec!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def resolve_dtype(precision: str = "float32"):
    import torch

    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    return getattr(torch, precision)


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
