"""``rvmatte run --target``: matte the shot, then keep only the picked person (run, then the people pass)."""
import numpy as np
import OpenImageIO as oiio
import pytest

from composites import make_shot, rough_mask, write_mask
from paths import TEST_WEIGHTS
from rvmatte.cli import main

pytest.importorskip("cv2", reason="the people pass needs opencv-python-headless")


def _read(path):
    buf = oiio.ImageBuf(str(path))
    pixels = buf.get_pixels(oiio.FLOAT)
    return {name: pixels[:, :, i] for i, name in enumerate(buf.spec().channelnames)}


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shot")
    made = make_shot(str(folder), "apart", 256, 144, 3)
    write_mask(str(folder / "hero.0001.png"), rough_mask(made["arrays"][1][0]))
    untargeted = folder / "all"
    assert main(["run", made["plate"], "-o", str(untargeted), "--float", "--progress", "none",
                 "--weights", str(TEST_WEIGHTS)]) == 0
    return folder, made, untargeted


def test_run_with_a_target_keeps_only_that_persons_own_alpha_and_foreground(shot, tmp_path):
    folder, made, untargeted = shot
    assert main(["run", made["plate"], "-o", str(tmp_path), "--float", "--progress", "none",
                 "--target", str(folder / "hero.####.png")]) == 0
    for frame, (mine, theirs) in made["arrays"].items():
        alpha = _read(tmp_path / f"shot.alpha.{frame:04d}.exr")["A"]
        fgr = _read(tmp_path / f"shot.fgr.{frame:04d}.exr")
        everyone = _read(untargeted / f"shot.alpha.{frame:04d}.exr")["A"]
        region = np.zeros_like(mine, bool)
        ys, xs = np.nonzero(mine > 0.05)
        region[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
        others = (theirs > 0.05) & ~region
        assert np.all(alpha[others] == 0) and np.all(fgr["A"][others] == 0) and np.all(fgr["R"][others] == 0)
        assert everyone[others].max() > 0.5                     # RVM did matte the other person
        inside = (mine > 0.5) & (alpha > 0)
        assert inside.mean() > 0.9 * (mine > 0.5).mean()
        np.testing.assert_array_equal(alpha[inside], everyone[inside])
    assert (tmp_path / "shot.people.0001.exr").is_file()


def test_run_with_targets_on_a_range_splits_only_those_frames(shot, tmp_path):
    folder, made, _ = shot
    assert main(["run", made["plate"], "-o", str(tmp_path), "--frames", "1-2", "--preroll", "1", "--float",
                 "--progress", "none", "--target", str(folder / "hero.####.png")]) == 0
    assert sorted(p.name for p in tmp_path.glob("shot.people.*.exr")) == ["shot.people.0001.exr",
                                                                          "shot.people.0002.exr"]
    assert not (tmp_path / "shot.alpha.0003.exr").exists() and (tmp_path / "shot.alpha.0002.exr").is_file()


def test_run_with_targets_refuses_a_mask_outside_the_range(shot, tmp_path, capsys):
    folder, made, _ = shot
    assert main(["run", made["plate"], "-o", str(tmp_path), "--frames", "2-3", "--progress", "none",
                 "--target", str(folder / "hero.####.png")]) == 1
    err = capsys.readouterr().err
    assert "frame 1 (" in err and "is outside the shot (2-3)" in err
