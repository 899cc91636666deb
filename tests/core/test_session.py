"""The session carries the recurrent state across calls, like the original's loop."""
import numpy as np
import pytest
import torch

from rvmatte.device import DeviceError, resolve_device
from rvmatte.session import Session, auto_downsample_ratio
from shots import composite_frame


@pytest.fixture(scope="module")
def frames():
    return np.stack([composite_frame(i) for i in range(4)])      # [4,144,256,3] sRGB 0..1


def test_auto_ratio_brings_the_long_side_to_512():
    assert auto_downsample_ratio(1080, 1920) == pytest.approx(512 / 1920)
    assert auto_downsample_ratio(2160, 3840) == pytest.approx(512 / 3840)
    assert auto_downsample_ratio(288, 512) == 1.0
    assert auto_downsample_ratio(1080, 1920, pixel_aspect=2.0) == pytest.approx(512 / 3840)


def test_step_by_step_equals_the_original_call_loop(model, frames):
    session = Session(model, downsample_ratio=0.5)
    rec = [None] * 4
    for frame in frames:
        pha, fgr = session.step(frame)
        src = torch.from_numpy(frame).permute(2, 0, 1)[None]
        with torch.no_grad():
            ref_fgr, ref_pha, *rec = model(src, *rec, downsample_ratio=0.5)
        np.testing.assert_allclose(pha, ref_pha[0, 0].numpy(), atol=1e-4)
        np.testing.assert_allclose(fgr, ref_fgr[0].permute(1, 2, 0).numpy(), atol=1e-4)


def test_batched_run_equals_step_by_step(model, frames):
    steps = Session(model, downsample_ratio=0.5)
    stepped = [steps.step(f)[0] for f in frames]
    pha, fgr = Session(model, downsample_ratio=0.5).run(frames)
    assert pha.shape == (4, 144, 256) and fgr.shape == (4, 144, 256, 3)
    np.testing.assert_allclose(pha, np.stack(stepped), atol=1e-4)


def test_state_changes_the_result_and_reset_forgets_it(model, frames):
    session = Session(model, downsample_ratio=0.5)
    cold = session.step(frames[3])[0]
    for f in frames[:3]:
        session.step(f)
    warm = session.step(frames[3])[0]
    assert np.abs(warm - cold).max() > 1e-3
    session.reset()
    np.testing.assert_allclose(session.step(frames[3])[0], cold, atol=1e-4)


def test_anamorphic_plate_is_seen_with_square_pixels(model, frames, monkeypatch):
    squeezed = frames[:, :, ::2]                                   # 2:1 anamorphic, 128 px wide
    seen = []
    original = model.backbone.forward
    monkeypatch.setattr(model.backbone, "forward", lambda x: seen.append(tuple(x.shape[-2:])) or original(x))
    pha, fgr = Session(model, downsample_ratio=0.5, pixel_aspect=2.0).step(squeezed[0])
    assert seen == [(72, 128)]                                     # height × 0.5, width × 0.5 × 2
    assert pha.shape == (144, 128) and fgr.shape == (144, 128, 3)


def test_explicit_unavailable_device_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="cuda"):
        resolve_device("cuda")
    assert resolve_device("auto").type in ("cpu", "mps")


def test_unknown_device_name_is_an_error():
    with pytest.raises(DeviceError, match="tpu"):
        resolve_device("tpu")
