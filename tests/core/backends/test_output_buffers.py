"""OpenVINO writes fgr and pha into host buffers of ours, reused only once nothing holds them."""
import numpy as np
import torch

from conftest import RATIO, require
from rvmatte.backends import select


def _warn(message):
    raise AssertionError(f"unexpected warning: {message}")


def _runner(network):
    (runner,) = network._runners.values()
    return runner


@torch.inference_mode()
def test_a_held_frame_is_not_overwritten_by_the_next(model, frames):
    require("openvino")
    network = select("openvino", model, precision="float32", threads=1, warn=_warn)
    state, held, copies = [None] * 4, [], []
    for src in frames:
        fgr, pha, *state = network(src, *state, downsample_ratio=RATIO)
        held.append((fgr, pha))
        copies.append((fgr.clone(), pha.clone()))
    assert not torch.equal(copies[0][1], copies[-1][1])       # the frames differ, so a reuse would show
    for (fgr, pha), (fgr_then, pha_then) in zip(held, copies):
        assert torch.equal(fgr, fgr_then) and torch.equal(pha, pha_then)


@torch.inference_mode()
def test_released_buffers_are_reused(model, frames):
    require("openvino")
    network = select("openvino", model, precision="float32", threads=1, warn=_warn)
    state = [None] * 4
    for i in range(3 * len(frames)):
        fgr, pha, *state = network(frames[i % len(frames)], *state, downsample_ratio=RATIO)
        del fgr, pha
    assert [pool.allocations for pool in _runner(network)._pools] == [1, 1]


@torch.inference_mode()
def test_outputs_in_our_buffers_equal_the_requests_own(model, frames):
    require("openvino")
    network = select("openvino", model, precision="float32", threads=1, warn=_warn)
    runner = _runner_after_one_frame(network, frames[0])
    src = np.ascontiguousarray(frames[1].permute(0, 2, 3, 1).numpy())     # the graph takes [1,H,W,3]
    state = [np.zeros(shape, np.float32) for shape in runner.state_shapes]
    ours = [a.copy() for a in runner.run(src, state)]
    plain = runner.compiled.create_infer_request().infer(dict(zip(runner.input_names, [src, *state])))
    for array, output in zip(ours, runner.outputs):
        assert np.array_equal(array, plain[output])


def _runner_after_one_frame(network, src):
    network(src, downsample_ratio=RATIO)
    return _runner(network)


@torch.inference_mode()
def test_the_plate_is_read_where_it_lies_not_copied_into_the_request(model, frames):
    require("openvino")
    network = select("openvino", model, precision="float32", threads=1, warn=_warn)
    runner = _runner_after_one_frame(network, frames[0])
    src = np.ascontiguousarray(frames[1].permute(0, 2, 3, 1).numpy())
    runner.run(src, [np.zeros(shape, np.float32) for shape in runner.state_shapes])
    assert np.shares_memory(runner.request.get_input_tensor(0).data, src)
