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


def test_the_channels_last_export_takes_and_gives_h_w_3_with_the_same_values(model, tmp_path):
    onnxruntime = require("onnxruntime")
    export_static_onnx(float32_copy(model), str(tmp_path / "nchw.onnx"), 144, 256, RATIO)
    export_static_onnx(float32_copy(model), str(tmp_path / "nhwc.onnx"), 144, 256, RATIO, channels_last=True)
    nchw, nhwc = (onnxruntime.InferenceSession(str(tmp_path / f"{n}.onnx"), providers=["CPUExecutionProvider"])
                  for n in ("nchw", "nhwc"))
    assert nhwc.get_inputs()[0].shape == [1, 144, 256, 3] and nhwc.get_outputs()[0].shape == [1, 144, 256, 3]
    src = np.random.default_rng(1).random((1, 3, 144, 256), dtype=np.float32)
    state = {i.name: np.zeros(i.shape, np.float32) for i in nchw.get_inputs()[1:]}
    plain = nchw.run(None, {"src": src, **state})
    last = nhwc.run(None, {"src": np.ascontiguousarray(src.transpose(0, 2, 3, 1)), **state})
    assert np.array_equal(last[0], plain[0].transpose(0, 2, 3, 1))
    for a, b in zip(last[1:], plain[1:]):
        assert np.array_equal(a, b)
