"""ONNX Runtime (CPU execution provider) running the static-shape export in float32."""
from __future__ import annotations

NAME = "onnxruntime"
PRECISIONS = ("float32",)
#: the graph's src and fgr are [1,H,W,3], as plates are read and written (static_export, channels_last)
CHANNELS_LAST = True


def version() -> str:
    import onnxruntime

    return onnxruntime.__version__


class Runner:
    def __init__(self, path: str, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        self.input_names = [i.name for i in inputs]
        self.state_shapes = [tuple(i.shape) for i in inputs[1:]]

    def run(self, src, state):
        feed = dict(zip(self.input_names, [src, *state]))
        return self.session.run(None, feed)


def load(path: str, precision: str, threads: int, device=None) -> Runner:
    return Runner(path, threads)
