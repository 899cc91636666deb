"""Fixtures for the backend tests: a private compiled-model cache and real frames (dev02 at 256x144)."""
import importlib

import numpy as np
import pytest
import torch

from shots import composite_frame

RATIO = 0.25


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("RVMATTE_CACHE_DIR", str(tmp_path / "compiled"))
    monkeypatch.delenv("RVMATTE_SHARED_CACHE_DIR", raising=False)


@pytest.fixture(scope="session")
def frames():
    """Four consecutive frames [1,3,144,256] in 0..1."""
    return [torch.from_numpy(np.ascontiguousarray(composite_frame(i))).permute(2, 0, 1)[None].float()
            for i in range(4)]


def require(name: str):
    """Skip (with the reason) where the runtime ``name`` is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.skip(f"{name} is not installed (pip install {name})")


@torch.inference_mode()
def alphas(network, frames, ratio=RATIO):
    """The alpha of each frame with the recurrent state fed back, as numpy."""
    state, out = [None] * 4, []
    for src in frames:
        _, pha, *state = network(src, *state, downsample_ratio=ratio)
        out.append(pha.float().numpy())
    return out
