"""Inference backends: the network run by PyTorch, ONNX Runtime, OpenVINO or TensorRT.

One module per runtime (``torch_backend``, ``onnxruntime_backend``, ``openvino_backend``,
``tensorrt_backend``), each with ``NAME``, ``PRECISIONS``, ``version()`` (raises ImportError
when the runtime is missing), ``DEVICES`` where it is not CPU-only and, for the non-torch
ones, ``load(onnx_path, precision, threads, device=None)`` returning a runner: either
``run(src, [r1..r4]) → [fgr, pha, r1..r4]`` on float32 numpy arrays, or ``run_tensors`` on
torch tensors where they are (TensorRT: on the GPU). ``select`` wraps the eager network so
the session calls every backend the same way (see ``network``).

``--backend auto`` is torch unless a measurement on that device says otherwise
(``AUTO_PREFERENCE``; see docs/performance.md); when the preferred runtime is missing or
fails it falls back to torch with one warning. A backend named explicitly that is missing
or cannot run the job is an error: farm jobs pin the backend.
"""
from __future__ import annotations

import importlib
from typing import Callable, Optional

from rvmatte.errors import RvmatteError

NAMES = ("torch", "onnxruntime", "openvino", "tensorrt")
CHOICES = NAMES + ("auto",)
#: backends ``auto`` tries first, per device type, before torch (from bench/speed.py's rows)
AUTO_PREFERENCE = {"cpu": ()}


def runtime(name: str):
    """The backend module for ``name`` (its runtime may still be missing: ``version()`` tells)."""
    if name not in NAMES:
        raise RvmatteError(f"--backend {name}: unknown backend; expected one of {', '.join(CHOICES)}")
    return importlib.import_module(f"rvmatte.backends.{name}_backend")


def devices_of(module) -> tuple:
    """The torch device types a backend's graph runs on (CPU unless it says otherwise)."""
    return tuple(getattr(module, "DEVICES", ("cpu",)))


def label(model) -> str:
    """What the EXR header records as ``rvmatte/backend``: name, version and precision."""
    text = getattr(model, "backend_label", None)
    if text:
        return text
    import torch

    param = next(model.parameters(), None)
    precision = str(param.dtype).replace("torch.", "") if param is not None else ""
    return f"torch {torch.__version__} {precision}".strip()


def _problem(name: str, device_type: str, precision: str) -> Optional[str]:
    """Why ``name`` cannot run this job, or None."""
    module = runtime(name)
    try:
        module.version()
    except Exception as error:           # ImportError, or a broken install
        return f"{name} is not installed ({error.__class__.__name__}: {error})"
    devices = devices_of(module)
    if name != "torch" and device_type not in devices:
        return f"{name} runs on {' or '.join(d.upper() if d == 'cpu' else d for d in devices)}, not on {device_type}"
    if precision not in module.PRECISIONS:
        return f"{name} runs {', '.join(module.PRECISIONS)}, not {precision}"
    return None


def select(name: str, model, *, precision: str, threads: int,
           warn: Callable[[str], None]):
    """The network to give the session for ``--backend name``: ``model`` itself for torch, else
    a ``BackendNetwork`` around it."""
    import torch

    device_type = next(model.parameters()).device.type
    if name == "auto":
        for candidate in AUTO_PREFERENCE.get(device_type, ()):
            problem = _problem(candidate, device_type, precision)
            if problem is None:
                return _wrap(candidate, model, precision, threads, on_failure=warn)
            warn(f"--backend auto: {problem}; running torch")
            break
        return model
    problem = _problem(name, device_type, precision)
    if problem is not None:
        raise RvmatteError(f"--backend {name}: {problem}")
    if name == "torch":
        return model
    if isinstance(model, torch.jit.ScriptModule):
        raise RvmatteError(f"--backend {name}: needs the eager network, not a TorchScript model")
    return _wrap(name, model, precision, threads, on_failure=None)


def _wrap(name, model, precision, threads, on_failure):
    from rvmatte.backends.network import BackendNetwork

    return BackendNetwork(model, runtime(name), precision, threads, on_failure=on_failure)
