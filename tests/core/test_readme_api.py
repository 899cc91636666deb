"""The README's Python API snippet runs as written on a CPU machine."""
import os
import re

import numpy as np
import pytest

from paths import REPO, TEST_WEIGHTS


def _snippet() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_api_snippet_runs_as_written(monkeypatch):
    monkeypatch.chdir(REPO)          # the snippet names ../shared relative to the clone
    if not TEST_WEIGHTS.is_file():
        pytest.fail(f"test weights missing: {TEST_WEIGHTS}")
    scope: dict = {}
    exec(compile(_snippet(), "README.md", "exec"), scope)
    assert scope["alpha"].shape == (288, 512)
    assert scope["rgba"].shape == (288, 512, 4)
    assert scope["pha"].shape == (1, 1, 288, 512)


def test_dir_lists_the_api():
    import rvmatte

    assert {"load_model", "MattingNetwork", "Session", "RunOptions", "run", "convert_video"} <= set(dir(rvmatte))


def test_step_premultiplied_is_linear_foreground_times_alpha(weights_path):
    import rvmatte
    from rvmatte.io.colour import srgb_decode

    model = rvmatte.load_model("mobilenetv3", weights=str(weights_path), device="cpu")
    rgb = np.random.default_rng(1).random((64, 96, 3), dtype=np.float32)
    alpha, fgr = rvmatte.Session(model).step(rgb)
    alpha2, rgba = rvmatte.Session(model).step_premultiplied(rgb)
    np.testing.assert_allclose(alpha2, alpha, atol=1e-6)
    np.testing.assert_allclose(rgba[..., :3], srgb_decode(fgr) * alpha[..., None], atol=1e-6)
    np.testing.assert_array_equal(rgba[..., 3], alpha2)
