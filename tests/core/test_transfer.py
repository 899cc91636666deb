"""Frames between host and device (rvmatte.transfer): the CPU pass-through adds nothing, the
staged transfer's buffers are reused only when free, its pipeline keeps order; the CUDA paths
(pinned buffers, copy streams, events) run only where a GPU is."""
import numpy as np
import pytest
import torch

from rvmatte import transfer as transfer_module
from rvmatte.engine import Job, RunOptions
from rvmatte.transfer import HostBuffers, PassThrough, Staged, for_device
from shots import make_png_shot, read

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA device: pinned memory, copy streams and events")


def _frames(count, value=0.0, shape=(6, 8)):
    return [np.full(shape + (3,), value + i, np.float32) + np.arange(3, dtype=np.float32) for i in range(count)]


def _results(src):
    """What the streams give the transfer: alpha [T,1,H,W], foreground [T,3,H,W], seg [T,1,H,W]."""
    return [src[:, :1] * 0.5], [src * 0.25], src[:, 1:2]


# -- the CPU pass-through -------------------------------------------------------------------------
def test_the_cpu_gets_the_pass_through():
    assert isinstance(for_device(torch.device("cpu")), PassThrough)


def test_the_pass_through_uploads_the_stacked_frames_as_a_view():
    frames = _frames(2)
    src = PassThrough().upload(frames)
    assert src.shape == (2, 3, 6, 8) and not src.is_contiguous()        # a permuted view, no copy
    assert torch.equal(src, torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))


def test_the_pass_through_hands_the_network_a_single_frame_itself_not_a_copy():
    (frame,) = _frames(1)
    src = PassThrough().upload([frame])
    assert src.shape == (1, 3, 6, 8) and np.shares_memory(src.numpy(), frame)
    assert torch.equal(src[0], torch.from_numpy(frame).permute(2, 0, 1))


def test_the_pass_through_hands_out_views_of_the_networks_own_tensors():
    src = PassThrough().upload(_frames(2))
    alphas, fgrs, seg = _results(src)
    (pha,), (fgr,), seg_out = PassThrough().download(alphas, fgrs, seg).result()
    assert np.shares_memory(pha, alphas[0].numpy()) and np.shares_memory(fgr, fgrs[0].numpy())
    assert pha.shape == (2, 6, 8) and fgr.shape == (2, 6, 8, 3) and seg_out.shape == (2, 6, 8)
    assert np.array_equal(fgr, fgrs[0].permute(0, 2, 3, 1).numpy())


def test_the_pass_through_yields_each_chunk_before_launching_the_next():
    log = []

    class Done:
        def __init__(self, n):
            self.n = n

        def result(self):
            log.append(("result", self.n))
            return self.n

    def launch(n):
        log.append(("launch", n))
        return Done(n)

    for n, result in PassThrough().pipeline(range(3), launch):
        log.append(("use", n, result))
    assert log == [("launch", 0), ("result", 0), ("use", 0, 0), ("launch", 1), ("result", 1), ("use", 1, 1),
                   ("launch", 2), ("result", 2), ("use", 2, 2)]


# -- host buffers ----------------------------------------------------------------------------------
def _pool():
    return HostBuffers(lambda shape, dtype: torch.empty(shape, dtype=dtype))


def test_a_released_buffer_whose_copy_finished_is_reused():
    pool = _pool()
    first = pool.take((2, 3))
    address = first.ctypes.data
    pool.fence(first, lambda: True)
    del first
    assert pool.take((2, 3)).ctypes.data == address and pool.allocations == 1


def test_a_buffer_still_viewed_by_a_writer_is_never_handed_out_again():
    pool = _pool()
    buffer = pool.take((2, 3))
    buffer[:] = 7.0
    held = buffer[1]                    # what a writer thread keeps of a chunk
    pool.fence(buffer, lambda: True)
    del buffer
    other = pool.take((2, 3))
    other[:] = -1.0
    assert not np.shares_memory(other, held) and np.all(held == 7.0) and pool.allocations == 2
    del held, other
    pool.take((2, 3))
    assert pool.allocations == 2        # both free again: no new allocation


def test_a_buffer_whose_copy_is_in_flight_is_not_reused():
    pool = _pool()
    done = []
    buffer = pool.take((4,))
    address = buffer.ctypes.data
    pool.fence(buffer, lambda: bool(done))
    del buffer
    assert pool.take((4,)).ctypes.data != address
    done.append(True)
    assert pool.take((4,)).ctypes.data == address


def test_a_new_shape_mid_shot_gets_buffers_of_its_own():
    pool = _pool()
    pool.take((4, 6, 8, 3))
    short = pool.take((1, 6, 8, 3))     # the last, shorter chunk of a shot
    assert short.shape == (1, 6, 8, 3) and pool.allocations == 2
    del short
    assert pool.take((1, 6, 8, 3)).shape == (1, 6, 8, 3) and pool.allocations == 2


# -- the staged transfer, run on the CPU -----------------------------------------------------------
def test_the_staged_transfer_round_trips_exactly():
    staged = Staged(torch.device("cpu"))
    frames = _frames(3, 0.125)
    src = staged.upload(frames)
    assert torch.equal(src, torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    alphas, fgrs, seg = _results(src)
    (pha,), (fgr,), seg_out = staged.download(alphas, fgrs, seg).result()
    assert np.array_equal(pha, alphas[0][:, 0].numpy()) and np.array_equal(seg_out, seg[:, 0].numpy())
    assert np.array_equal(fgr, fgrs[0].permute(0, 2, 3, 1).numpy()) and fgr.flags.c_contiguous


def test_staged_results_survive_later_chunks_and_their_buffers_come_back_when_dropped():
    staged = Staged(torch.device("cpu"))
    kept = []
    for n in range(4):
        src = staged.upload(_frames(2, 10.0 * n))
        kept.append(staged.download(*_results(src)).result())
    for n, (alphas, fgrs, seg) in enumerate(kept):          # nothing overwritten by a later chunk
        assert np.all(alphas[0][0] == 0.5 * (10.0 * n)) and np.all(seg[1] == 10.0 * n + 1 + 1)
    pool = staged.pool("alpha0")
    assert pool.allocations == 4
    kept.clear()
    for n in range(4):
        src = staged.upload(_frames(2, n))
        staged.download(*_results(src)).result()
    assert pool.allocations == 4 and staged.pool("src").allocations == 1


def test_the_staged_pipeline_waits_for_a_chunk_only_after_launching_the_next():
    log = []

    class Pending:
        def __init__(self, n):
            self.n = n

        def result(self):
            log.append(("result", self.n))
            return self.n

    def launch(n):
        log.append(("launch", n))
        return Pending(n)

    used = [n for n, _ in Staged(torch.device("cpu")).pipeline(range(3), launch)]
    assert used == [0, 1, 2]
    assert log == [("launch", 0), ("launch", 1), ("result", 0), ("launch", 2), ("result", 1), ("result", 2)]


def _run(tmp_path, name, shot, model, **options):
    out = tmp_path / name
    summary = Job(RunOptions(input=shot, alpha=str(out / "a.####.exr"), foreground=str(out / "f.####.exr"),
                             segmentation=str(out / "s.####.exr"), bit_depth="float", device="cpu", model=model,
                             seq_chunk=2, writers=2, **options)).run()
    assert summary["written"] == 5
    return [read(p) for kind in "afs" for p in sorted(out.glob(f"{kind}.*.exr"))]


def test_a_run_through_the_staged_transfer_writes_the_same_frames_as_the_pass_through(tmp_path, model,
                                                                                     monkeypatch):
    """Chunks of 2 over 5 frames (the last one shorter), a cut, a mirror stream and the
    segmentation pass: every result of the lagged, buffered pipeline is bit for bit the same."""
    shot = make_png_shot(tmp_path / "shot", count=5)
    options = dict(reset_at=[4], ensemble="mirror")
    plain = _run(tmp_path, "plain", shot, model, **options)
    monkeypatch.setattr(transfer_module, "for_device", lambda device, pinned=True: Staged(device))
    staged = _run(tmp_path, "staged", shot, model, **options)
    assert len(plain) == len(staged) == 15
    assert all(np.array_equal(a, b) for a, b in zip(plain, staged))


# -- CUDA ----------------------------------------------------------------------------------------
@needs_cuda
def test_cuda_gets_the_staged_transfer_with_pinned_buffers():
    staged = for_device(torch.device("cuda"))
    assert isinstance(staged, Staged)
    src = staged.upload(_frames(2))
    (pha,), _, _ = staged.download(*_results(src)).result()
    assert staged.pool("src").tensor(staged.pool("src").take((2, 6, 8, 3))).is_pinned()
    assert staged.pool("alpha0").tensor(pha).is_pinned()


@needs_cuda
def test_cuda_staged_results_equal_the_synchronous_copies():
    staged = for_device(torch.device("cuda"))
    frames = _frames(4, 0.5, shape=(270, 480))
    src = staged.upload(frames)
    assert src.is_cuda and torch.equal(src.cpu(), torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    alphas, fgrs, seg = _results(src)
    (pha,), (fgr,), seg_out = staged.download(alphas, fgrs, seg).result()
    assert np.array_equal(pha, alphas[0][:, 0].cpu().numpy())
    assert np.array_equal(fgr, fgrs[0].permute(0, 2, 3, 1).cpu().numpy())


@needs_cuda
def test_cuda_the_copies_run_on_streams_of_their_own():
    staged = for_device(torch.device("cuda"))
    compute = torch.cuda.current_stream()
    assert staged._upload != compute and staged._download != compute and staged._upload != staged._download


@needs_cuda
def test_cuda_a_run_writes_the_same_frames_as_the_cpu_within_float_tolerance(tmp_path, model):
    shot = make_png_shot(tmp_path / "shot", count=5)
    cpu = _run(tmp_path, "cpu", shot, model)
    gpu_model = type(model)("mobilenetv3").eval()
    gpu_model.load_state_dict(model.state_dict())
    cuda = _run(tmp_path, "cuda", shot, gpu_model.cuda())
    assert all(np.abs(a - b).max() < 1e-3 for a, b in zip(cpu, cuda))
