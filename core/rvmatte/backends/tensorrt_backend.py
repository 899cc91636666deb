"""TensorRT through ONNX Runtime's TensorRT execution provider: an optional backend for CUDA GPUs.

The static-shape export (``static_export``: one graph per frame size and downsample ratio,
the ratio baked in) is built into a TensorRT engine by ONNX Runtime at the first frame, and
the engine is cached on disk in a folder of the writable rvmatte cache named for that
export (``engine_folder``), so a render node builds it once per size, ratio and precision.
Nodes TensorRT does not take run on the CUDA provider. The frame and the recurrent state
stay on the GPU: ``BoundRunner`` binds the torch tensors' memory to the session and lets
it write its results into torch tensors (ONNX Runtime's I/O binding), so nothing crosses to
the host between frames.

Needs ``onnxruntime-gpu`` built with TensorRT, and TensorRT's libraries; rvmatte does not
install them. ``float16`` is TensorRT's fp16 mode (``trt_fp16_enable``): layers run in half
where TensorRT chooses, the graph's inputs and outputs stay float32.
"""
from __future__ import annotations

import os

NAME = "tensorrt"
PRECISIONS = ("float32", "float16")
DEVICES = ("cuda",)
PROVIDER = "TensorrtExecutionProvider"


def version() -> str:
    """ONNX Runtime's version and TensorRT's; ImportError where the provider is missing."""
    import onnxruntime

    if PROVIDER not in onnxruntime.get_available_providers():
        raise ImportError(f"onnxruntime {onnxruntime.__version__} has no {PROVIDER} "
                          f"(install onnxruntime-gpu built with TensorRT, and TensorRT)")
    try:
        import tensorrt

        trt = tensorrt.__version__
    except ImportError:          # the libraries are loaded by the provider; the Python module is optional
        trt = "unknown"
    return f"{onnxruntime.__version__}-trt{trt}"


def engine_folder(onnx_path: str) -> str:
    """Where the engines built from ``onnx_path`` are cached: the writable cache, a folder per export
    (the export's name carries its size, ratio, precision and versions, so each engine has them baked in)."""
    from rvmatte.backends import cache

    base = os.path.splitext(os.path.basename(onnx_path))[0]
    return os.path.join(cache.cache_dir(), base + ".engines")


def providers(precision: str, device_id: int, folder: str) -> list:
    """The session's providers, TensorRT first, then CUDA for what TensorRT does not take."""
    return [(PROVIDER, {"device_id": int(device_id), "trt_fp16_enable": precision == "float16",
                        "trt_engine_cache_enable": True, "trt_engine_cache_path": folder,
                        "trt_timing_cache_enable": True, "trt_timing_cache_path": folder}),
            ("CUDAExecutionProvider", {"device_id": int(device_id)})]


class BoundRunner:
    """An ONNX Runtime session run on torch tensors where they are (CPU or CUDA), through I/O binding:
    ``run_tensors(src, [r1..r4]) → [fgr, pha, r1..r4]`` as float32 tensors on the same device."""

    def __init__(self, session, device):
        self.session = session
        self.device = device
        inputs, outputs = session.get_inputs(), session.get_outputs()
        self.input_names = [i.name for i in inputs]
        self.state_shapes = [tuple(i.shape) for i in inputs[1:]]
        self.output_names = [o.name for o in outputs]
        self.output_shapes = [tuple(o.shape) for o in outputs]

    def run_tensors(self, src, state):
        import numpy as np
        import torch

        kind, index = self.device.type, self.device.index or 0
        if kind == "cuda":
            torch.cuda.current_stream(self.device).synchronize()   # the inputs are written before ORT reads
        binding = self.session.io_binding()
        held = [t.detach().float().contiguous() for t in (src, *state)]   # alive until the run has read them
        for name, tensor in zip(self.input_names, held):
            binding.bind_input(name, kind, index, np.float32, tuple(tensor.shape), tensor.data_ptr())
        results = [torch.empty(shape, dtype=torch.float32, device=self.device) for shape in self.output_shapes]
        for name, tensor in zip(self.output_names, results):
            binding.bind_output(name, kind, index, np.float32, tuple(tensor.shape), tensor.data_ptr())
        binding.synchronize_inputs()
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return results


def load(path: str, precision: str, threads: int, device=None) -> BoundRunner:
    import onnxruntime
    import torch

    device = device if device is not None else torch.device("cuda", torch.cuda.current_device())
    folder = engine_folder(path)
    os.makedirs(folder, exist_ok=True)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(path, options, providers=providers(precision, device.index or 0, folder))
    if PROVIDER not in session.get_providers():
        raise RuntimeError(f"ONNX Runtime did not start {PROVIDER} (started: {', '.join(session.get_providers())})")
    return BoundRunner(session, device)
