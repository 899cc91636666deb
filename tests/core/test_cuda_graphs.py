"""--cuda-graphs (rvmatte.cuda_graphs): off the GPU the network runs as it is (and the run says
so); on CUDA the replayed steady state matches the eager one, a shape seen once runs eagerly."""
import numpy as np
import pytest
import torch

from rvmatte.cuda_graphs import CudaGraphNetwork
from rvmatte.engine import Job, RunOptions
from rvmatte.errors import RvmatteError
from rvmatte.model import MattingNetwork
from rvmatte.progress import Reporter
from shots import make_png_shot, read

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device: graph capture and replay")


class Warnings(Reporter):
    def __init__(self):
        self.messages = []

    def warning(self, message, frame=None):
        self.messages.append(message)


@pytest.fixture
def no_grad():
    with torch.inference_mode():
        yield


def test_on_the_cpu_the_wrapped_network_is_the_network(model, no_grad):
    graphed = CudaGraphNetwork(model)
    src = torch.rand(1, 2, 3, 72, 128)
    rec = [None] * 4
    plain_rec = [None] * 4
    for _ in range(3):
        fgr, pha, *rec = graphed(src, *rec, downsample_ratio=0.5)
        plain_fgr, plain_pha, *plain_rec = model(src, *plain_rec, downsample_ratio=0.5)
        assert torch.equal(pha, plain_pha) and torch.equal(fgr, plain_fgr)
    assert graphed.captures == 0 and graphed.replays == 0 and graphed.variant == model.variant


def test_the_call_key_tells_a_shorter_chunk_from_the_steady_one():
    state = [torch.zeros(1, 16, 9, 16)] * 4
    steady = CudaGraphNetwork.call_key(torch.zeros(1, 4, 3, 72, 128), state, 0.25)
    assert steady != CudaGraphNetwork.call_key(torch.zeros(1, 1, 3, 72, 128), state, 0.25)
    assert steady != CudaGraphNetwork.call_key(torch.zeros(1, 4, 3, 72, 128), state, 0.5)
    assert steady == CudaGraphNetwork.call_key(torch.ones(1, 4, 3, 72, 128), state, 0.25)


def test_a_cpu_run_with_cuda_graphs_warns_once_and_writes_the_plain_runs_frames(tmp_path, model):
    shot = make_png_shot(tmp_path / "shot", count=3)
    outputs = {}
    for name, graphs in (("plain", False), ("graphs", True)):
        reporter = Warnings()
        Job(RunOptions(input=shot, alpha=str(tmp_path / name / "a.####.exr"), device="cpu", model=model,
                       cuda_graphs=graphs), reporter).run()
        outputs[name] = [read(p) for p in sorted((tmp_path / name).glob("a.*.exr"))]
        if graphs:
            assert [m for m in reporter.messages if "--cuda-graphs" in m] == [
                "--cuda-graphs: only on a CUDA device; the network runs as it is on cpu"]
    assert len(outputs["plain"]) == 3 and all(np.array_equal(a, b) for a, b in zip(outputs["plain"], outputs["graphs"]))


def test_cuda_graphs_and_compile_exclude_each_other(tmp_path, model):
    job = Job(RunOptions(input=make_png_shot(tmp_path / "shot", count=1), alpha=str(tmp_path / "a.####.exr"),
                         device="cpu", model=model, cuda_graphs=True, compile=True))
    with pytest.raises(RvmatteError, match="--cuda-graphs and --compile exclude each other"):
        job.run()


def test_the_command_line_passes_cuda_graphs_on(tmp_path):
    from rvmatte.cli import _options_from, build_parser

    shot = make_png_shot(tmp_path / "shot", count=1)
    args = build_parser().parse_args(["run", shot, "-o", str(tmp_path / "o"), "--cuda-graphs"])
    assert _options_from(args).cuda_graphs is True
    assert _options_from(build_parser().parse_args(["run", shot, "-o", str(tmp_path / "o")])).cuda_graphs is False


@needs_cuda
def test_cuda_replayed_frames_match_the_eager_ones_with_the_state_fed_back(no_grad):
    model = MattingNetwork("mobilenetv3").eval().cuda()
    graphed = CudaGraphNetwork(model)
    frames = [torch.rand(1, 4, 3, 270, 480, device="cuda") for _ in range(5)]
    rec, plain_rec = [None] * 4, [None] * 4
    for src in frames:
        fgr, pha, *rec = graphed(src, *rec, downsample_ratio=0.25)
        plain_fgr, plain_pha, *plain_rec = model(src, *plain_rec, downsample_ratio=0.25)
        assert (pha - plain_pha).abs().max() < 1e-4 and (fgr - plain_fgr).abs().max() < 1e-4
    assert graphed.captures == 1 and graphed.replays == 3      # frame 1: no state; frame 2: shape seen once


@needs_cuda
def test_cuda_a_shape_seen_once_runs_eagerly_and_a_new_steady_shape_is_recaptured(no_grad):
    model = MattingNetwork("mobilenetv3").eval().cuda()
    graphed = CudaGraphNetwork(model)
    rec = [None] * 4
    for chunk in (4, 4, 4, 1, 2, 2, 2):
        _, _, *rec = graphed(torch.rand(1, chunk, 3, 144, 256, device="cuda"), *rec, downsample_ratio=0.5)
    assert graphed.captures == 2 and graphed.replays == 3
