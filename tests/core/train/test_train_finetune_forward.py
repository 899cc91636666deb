"""The training forward is run's inference path, and a tuned state_dict is the official layout."""
import numpy as np
import pytest
import torch

from rvmatte.session import Session
from rvmatte.train.finetune import FinetuneConfig, forward_clip, read_shot, train_forward


def _plates(tiny, frames):
    from rvmatte.io import open_input

    source = open_input(tiny[0])
    return torch.stack([torch.from_numpy(p.rgb).permute(2, 0, 1) for p in source.read(frames)])


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_forward_clip_equals_the_networks_forward(model, tiny, ratio):
    clip = _plates(tiny, [1, 2, 3])[None]
    with torch.no_grad():
        fgr, pha = forward_clip(model, clip, ratio)
        ref_fgr, ref_pha, *_ = model(clip, downsample_ratio=ratio)
    assert torch.equal(pha, ref_pha) and torch.equal(fgr, ref_fgr)


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_forward_clip_matches_the_session_frame_by_frame(model, tiny, ratio):
    # rvmatte run on CPU: one frame per forward, the recurrent state carried by the session
    frames = _plates(tiny, [1, 2, 3, 4])
    session = Session(model, downsample_ratio=ratio)
    ref = torch.cat([session.infer(f[None])[0] for f in frames])
    with torch.no_grad():
        _, pha = forward_clip(model, frames[None], ratio)
    assert float((pha[0] - ref).abs().max()) < 1e-4


def test_the_truncated_training_forward_gives_the_clips_last_frame(model, tiny):
    frames = _plates(tiny, [1, 2, 3])
    with torch.no_grad():
        _, whole = forward_clip(model, frames[None], 1.0)
        _, last = train_forward(model, list(frames), 1.0)
    assert float((last[0, 0] - whole[0, -1]).abs().max()) < 1e-5


def test_the_straight_through_clamp_keeps_values_and_passes_gradient():
    from rvmatte.train.finetune import straight_through_clamp

    x = torch.tensor([-0.5, 0.3, 1.7], requires_grad=True)
    y = straight_through_clamp(x)
    assert torch.allclose(y, x.clamp(0, 1))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(3))


def test_the_shot_is_read_as_run_reads_it(tiny, tmp_path):
    from tiny_shot import write_png

    write_png(tmp_path / "key.0004.png", tiny[1][4])
    data = read_shot(tiny[0], str(tmp_path / "key.####.png"), FinetuneConfig(clip=3))
    assert data.ratio == 1.0                       # 128x72: auto ratio is 1, as in rvmatte run
    assert data.key_windows[4] == [2, 3, 4]        # the keyframe last
    from rvmatte.io import open_input

    plate = next(iter(open_input(tiny[0]).read([4])))
    assert np.array_equal(data.plates[4].permute(1, 2, 0).numpy(), plate.rgb)
