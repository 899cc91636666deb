"""torch.hub entry points with the original's names, weights through rvmatte's resolver."""
from pathlib import Path

import pytest
import torch

import rvmatte
from rvmatte.errors import RvmatteError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def offline(monkeypatch, tmp_path, weights_path):
    monkeypatch.setenv("RVMATTE_WEIGHTS", str(weights_path))
    monkeypatch.setenv("RVMATTE_OFFLINE", "1")
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path / "cache"))


def hub(entry, **kwargs):
    return torch.hub.load(str(REPO), entry, source="local", **kwargs)


def test_mobilenetv3_loads_offline_from_rvmatte_weights(offline, weights_path):
    model = hub("mobilenetv3")
    expected = torch.load(weights_path, map_location="cpu", weights_only=True)
    assert isinstance(model, rvmatte.MattingNetwork) and not model.training
    assert all(torch.equal(model.state_dict()[k], v) for k, v in expected.items())
    assert model.weights_path == str(weights_path)


def test_mobilenetv3_runs_like_the_original(offline):
    model = hub("mobilenetv3")
    with torch.no_grad():
        fgr, pha, *rec = model(torch.rand(1, 3, 64, 96), *[None] * 4, downsample_ratio=0.5)
    assert fgr.shape == (1, 3, 64, 96) and pha.shape == (1, 1, 64, 96) and len(rec) == 4


def test_pretrained_false_needs_no_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("RVMATTE_WEIGHTS", raising=False)
    monkeypatch.setenv("RVMATTE_OFFLINE", "1")
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path))
    assert hub("resnet50", pretrained=False).variant == "resnet50"


def test_resnet50_with_mobilenetv3_weights_says_so(offline):
    with pytest.raises(RvmatteError, match="holds mobilenetv3 weights"):
        hub("resnet50")


def test_offline_without_weights_says_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.delenv("RVMATTE_WEIGHTS", raising=False)
    monkeypatch.setenv("RVMATTE_OFFLINE", "1")
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path))
    with pytest.raises(RvmatteError, match="RVMATTE_WEIGHTS"):
        hub("mobilenetv3")


def test_converter_is_rvmatte_convert_video():
    from rvmatte.convert import convert_video

    assert hub("converter") is convert_video
