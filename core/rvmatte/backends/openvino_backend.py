"""OpenVINO (CPU plugin) running the static-shape export.

The precision is always asked for explicitly: on CPUs with AVX512-BF16 or AMX the plugin's
default inference precision is bf16, which would silently change the numbers of a run
that asked for float32. Its compiled blobs are cached by OpenVINO itself in a folder of
the rvmatte cache (``CACHE_DIR``), beside the exported ONNX file.

The full-resolution outputs (fgr, pha) are written by the plugin straight into host buffers
of our own, reused once nothing holds them (``rvmatte.transfer.HostBuffers``): copying them
out of the request's buffers and faulting in a fresh 33 MB per 1080p frame cost 6-8 ms of a
110 ms bf16 frame. The recurrent state is small and copied.
"""
from __future__ import annotations

import os

from rvmatte.transfer import HostBuffers

NAME = "openvino"
PRECISIONS = ("float32", "bfloat16")
_HINT = {"float32": "f32", "bfloat16": "bf16"}
IMAGE_OUTPUTS = ("fgr", "pha")          # the first outputs of the export (static_export.OUTPUTS)
#: the graph's src and fgr are [1,H,W,3], as plates are read and written (static_export, channels_last)
CHANNELS_LAST = True


def version() -> str:
    import openvino

    return openvino.__version__ if hasattr(openvino, "__version__") else openvino.get_version()


class Runner:
    def __init__(self, path: str, precision: str, threads: int):
        import openvino

        from rvmatte.backends import cache

        core = openvino.Core()
        config = {"INFERENCE_PRECISION_HINT": _HINT[precision], "INFERENCE_NUM_THREADS": max(1, int(threads)),
                  "CACHE_DIR": os.path.join(cache.cache_dir(), f"openvino-{version()}")}
        self.compiled = core.compile_model(path, "CPU", config)
        self.request = self.compiled.create_infer_request()
        inputs = self.compiled.inputs
        self.input_names = [i.get_any_name() for i in inputs]
        self.state_shapes = [tuple(i.get_shape()) for i in inputs[1:]]
        self.outputs = list(self.compiled.outputs)
        self._openvino = openvino
        self._pools = [HostBuffers(_host_tensor) for _ in IMAGE_OUTPUTS]

    def run(self, src, state):
        images = []
        for index, pool in enumerate(self._pools):
            array = pool.take(tuple(self.outputs[index].get_shape()))
            self.request.set_output_tensor(index, self._openvino.Tensor(array, shared_memory=True))
            images.append(array)
        # share_inputs: the request reads the arrays where they are (the call is synchronous) instead
        # of copying them into its own tensors first (5 ms for a 1080p plate on the network's thread)
        results = self.request.infer(dict(zip(self.input_names, [src, *state])), share_inputs=True)
        return images + [results[o].copy() for o in self.outputs[len(images):]]


def _host_tensor(shape, dtype):
    import torch

    return torch.empty(shape, dtype=dtype)


def load(path: str, precision: str, threads: int, device=None) -> Runner:
    return Runner(path, precision, threads)
