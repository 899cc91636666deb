"""The segmentation probability comes from the same forward pass as the matte."""
import copy

import numpy as np
import pytest
import torch

from rvmatte.session import Session
from shots import composite_frame


@pytest.fixture(scope="module")
def seg_model(model):
    """The test network with a random segmentation head (the test weights carry zeros)."""
    network = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        network.project_seg.conv.weight.copy_(torch.randn(network.project_seg.conv.weight.shape, generator=generator))
        network.project_seg.conv.bias.fill_(0.3)
    return network


def frames(count=2):
    return torch.from_numpy(np.stack([composite_frame(i, (128, 72)) for i in range(count)])).permute(0, 3, 1, 2)


def test_segmentation_is_the_sigmoid_of_the_networks_segmentation_pass(seg_model):
    src = frames()
    pha, fgr, seg = Session(seg_model, downsample_ratio=1.0).infer_with_segmentation(src)
    with torch.inference_mode():
        logits, *_ = seg_model(src[None], downsample_ratio=1.0, segmentation_pass=True)
        ref_fgr, ref_pha, *_ = seg_model(src[None], downsample_ratio=1.0)
    torch.testing.assert_close(seg, torch.sigmoid(logits[0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(pha, ref_pha[0], atol=1e-4, rtol=0)
    torch.testing.assert_close(fgr, ref_fgr[0], atol=1e-4, rtol=0)
    assert seg.std() > 0.01


def test_segmentation_at_a_lower_ratio_is_upsampled_to_the_frame_and_alpha_is_unchanged(seg_model):
    src = frames()
    pha, fgr, seg = Session(seg_model, downsample_ratio=0.5).infer_with_segmentation(src)
    ref_pha, ref_fgr = Session(seg_model, downsample_ratio=0.5).infer(src)
    assert seg.shape == (2, 1, src.shape[2], src.shape[3])
    assert 0.0 <= float(seg.min()) and float(seg.max()) <= 1.0
    torch.testing.assert_close(pha, ref_pha, atol=1e-5, rtol=0)
    torch.testing.assert_close(fgr, ref_fgr, atol=1e-5, rtol=0)


def test_the_segmentation_pass_carries_the_recurrent_state(seg_model):
    src = frames(3)
    together = Session(seg_model, downsample_ratio=1.0).infer_with_segmentation(src)[2]
    stepwise = Session(seg_model, downsample_ratio=1.0)
    one_by_one = torch.cat([stepwise.infer_with_segmentation(src[i:i + 1])[2] for i in range(3)])
    torch.testing.assert_close(one_by_one, together, atol=1e-4, rtol=0)
