"""The static-shape export: the refiner's full-resolution upsampling is one resize of A and b together,
which gives the values of the eager network's two."""
import numpy as np
import torch

from conftest import RATIO, require
from rvmatte.backends.static_export import export_static_onnx, float32_copy
from rvmatte.model.guided_filter import _apply_upsampled


def _full_resolution_resizes(path, height, width):
    """The shapes of the graph's Resize outputs at full resolution, read by running it (ONNX Runtime)."""
    onnx = require("onnx")
    onnxruntime = require("onnxruntime")
    graph = onnx.load(str(path))
    resized = [n.output[0] for n in graph.graph.node if n.op_type == "Resize"]
    graph.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in resized)
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {i.name: np.zeros(i.shape, np.float32) for i in session.get_inputs()}
    shapes = [list(out.shape) for out in session.run(resized, feed)]
    return [s for s in shapes if s[2:] == [height, width]]


def test_the_export_upsamples_a_and_b_in_one_full_resolution_resize(model, tmp_path):
    export_static_onnx(float32_copy(model), str(tmp_path / "net.onnx"), 144, 256, RATIO)
    assert _full_resolution_resizes(tmp_path / "net.onnx", 144, 256) == [[1, 8, 144, 256]]
    assert model.refiner.merged_upsampling is False          # the eager network is left as it was


def test_the_two_resize_graph_is_still_there_on_request(model, tmp_path):
    export_static_onnx(float32_copy(model), str(tmp_path / "net.onnx"), 144, 256, RATIO, merged_upsampling=False)
    assert _full_resolution_resizes(tmp_path / "net.onnx", 144, 256) == [[1, 4, 144, 256]] * 2


def test_one_resize_of_a_and_b_gives_the_values_of_two():
    generator = torch.Generator().manual_seed(3)
    a, b = torch.randn(1, 4, 36, 64, generator=generator), torch.randn(1, 4, 36, 64, generator=generator)
    fine = torch.rand(1, 3, 144, 256, generator=generator)
    for merged, separate in zip(_apply_upsampled(a, b, fine, merged=True), _apply_upsampled(a, b, fine)):
        assert torch.equal(merged, separate)
    assert np.isfinite(merged.numpy()).all()
