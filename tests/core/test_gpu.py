"""The GPU checks made before a shot's first frame: VRAM budget and deterministic arithmetic."""
import numpy as np
import pytest
import torch

from rvmatte.engine import Job, RunOptions
from rvmatte.gpu import SAFETY, VramError, budget_failure, check_vram_budget, dry_run, set_deterministic
from rvmatte.model import MattingNetwork
from shots import SIZE, make_png_shot

GIB = 2**30


def _check(peak_bytes, free, total=8 * GIB, forward=lambda: None):
    return check_vram_budget(forward, "a 3840x2160 frame at ratio 0.125 with --seq-chunk 4 in float16",
                             memory=lambda: (free, total), peak=lambda: peak_bytes, reset_peak=lambda: None)


def test_a_forward_that_fits_returns_its_peak():
    assert _check(2 * GIB, free=6 * GIB) == 2 * GIB


def test_a_peak_over_the_free_memory_is_refused_with_the_fixes():
    with pytest.raises(VramError) as error:
        _check(7 * GIB, free=6 * GIB)
    message = str(error.value)
    assert "3840x2160" in message and "7.0 GiB" in message and "6.0 GiB of 8.0 GiB" in message
    assert "--seq-chunk" in message and "float16" in message and "\n" not in message


def test_the_safety_margin_refuses_a_peak_just_under_the_free_memory():
    free = 6 * GIB
    assert budget_failure(int(SAFETY * free) - 1, free, 8 * GIB, "x") is None
    assert budget_failure(int(free * 0.99), free, 8 * GIB, "x") is not None


def test_out_of_memory_in_the_dry_forward_is_the_same_one_line():
    def forward():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.50 GiB")

    with pytest.raises(VramError, match=r"does not fit the GPU: one forward ran out of memory with 2.0 GiB"):
        _check(0, free=2 * GIB, forward=forward)


def test_dry_run_is_one_forward_of_the_shots_shape_with_a_fresh_state():
    model = MattingNetwork("mobilenetv3").eval()
    seen = []
    model.register_forward_pre_hook(lambda module, args, kwargs: seen.append((args, kwargs)), with_kwargs=True)
    dry_run(model, 72, 128, 2, 0.5)()
    (args, kwargs), = seen
    assert args[0].shape == (1, 2, 3, 72, 128) and kwargs == {"downsample_ratio": 0.5} and len(args) == 1


def test_the_engine_names_the_shot_when_the_budget_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (1 * GIB, 8 * GIB))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda: 3 * GIB)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda: None)
    job = Job(RunOptions(input=make_png_shot(tmp_path, count=1), alpha=str(tmp_path / "out" / "a.####.exr"),
                         device="cpu", model=MattingNetwork("mobilenetv3").eval()))
    w, h = job.source.width, job.source.height
    with pytest.raises(VramError, match=rf"a {w}x{h} frame at ratio 0.5 with --seq-chunk 3 in float32 needs 3.0 GiB"):
        job._check_vram(job.options.model, 0.5, 3)


def test_deterministic_mode_turns_off_tf32_and_autotuning_and_is_put_back():
    cudnn = torch.backends.cudnn
    before = (cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled())
    restore = set_deterministic(True)
    try:
        assert cudnn.deterministic and not cudnn.benchmark and not cudnn.allow_tf32
        assert not torch.backends.cuda.matmul.allow_tf32 and torch.are_deterministic_algorithms_enabled()
    finally:
        restore()
    assert (cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32,
            torch.are_deterministic_algorithms_enabled()) == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device: the real budget check")
def test_a_real_cuda_forward_fits_and_reports_its_peak():
    model = MattingNetwork("mobilenetv3").eval().cuda()
    peak = check_vram_budget(dry_run(model, 1080, 1920, 1, 0.25), "a 1920x1080 frame")
    assert 0 < peak < torch.cuda.mem_get_info()[1]


def test_deterministic_is_keyed_only_when_on(tmp_path):
    from rvmatte.cli import build_parser, _options_from

    def fields(*extra):
        from rvmatte.result_key import result_fields
        args = build_parser().parse_args(["run", make_png_shot(tmp_path, count=1), "-o", str(tmp_path / "o"), *extra])
        return result_fields(_options_from(args), width=8, height=8, pixel_aspect=1.0, input_colorspace="srgb",
                             output_colorspace="linear", weights_sha256="0" * 64, downsample_ratio=0.5)

    assert "deterministic" not in fields() and fields("--deterministic")["deterministic"] is True


def test_deterministic_changes_nothing_on_the_cpu(tmp_path):
    from rvmatte.cli import main
    from shots import read

    shot = make_png_shot(tmp_path / "shot", count=2)
    for name, extra in (("plain", []), ("det", ["--deterministic"])):
        assert main(["run", shot, "-o", str(tmp_path / name), "--device", "cpu", "--progress", "none", *extra]) == 0
    plain, det = (sorted((tmp_path / n).glob("*alpha*.exr")) for n in ("plain", "det"))
    assert len(plain) == 2 and all(np.array_equal(read(a), read(b)) for a, b in zip(plain, det))
    assert not torch.are_deterministic_algorithms_enabled()
