"""Reading sparse keyframe-alpha sequences and refusing what is not a matte of the shot."""
import numpy as np
import pytest

from tiny_shot import SMALL, write_png
from rvmatte.errors import InputError
from rvmatte.train.keyframes import Keyframes

FRAMES = list(range(1, 9))
W, H = SMALL


def ramp():
    return np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1))


def test_only_the_frames_present_are_keyframes(tmp_path):
    for frame in (2, 7):
        write_png(tmp_path / f"key.{frame:04d}.png", ramp())
    keys = Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)
    assert keys.frames == [2, 7]
    assert np.allclose(keys.alpha[2], np.round(ramp() * 255) / 255, atol=1e-6)
    assert len(keys.sha256[7]) == 64


def test_the_a_channel_wins_over_colour(tmp_path):
    colour = np.random.default_rng(0).random((H, W, 3)).astype(np.float32)
    write_png(tmp_path / "key.0003.png", np.dstack([colour, ramp()]), channels=("R", "G", "B", "A"))
    keys = Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)
    assert np.allclose(keys.alpha[3], np.round(ramp() * 255) / 255, atol=1e-6)


def test_grey_saved_as_rgb_is_read_as_a_matte(tmp_path):
    write_png(tmp_path / "key.0004.png", np.dstack([ramp()] * 3))
    keys = Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)
    assert np.allclose(keys.alpha[4], np.round(ramp() * 255) / 255, atol=1e-6)


def test_a_colour_image_is_an_error_naming_the_file(tmp_path):
    colour = np.dstack([ramp(), ramp()[:, ::-1], ramp()])
    write_png(tmp_path / "key.0004.png", colour)
    with pytest.raises(InputError, match=r"key\.0004\.png is not a matte"):
        Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)


def test_a_keyframe_of_another_size_is_an_error(tmp_path):
    write_png(tmp_path / "key.0002.png", np.zeros((H // 2, W // 2), np.float32))
    with pytest.raises(InputError, match=rf"key\.0002\.png is {W // 2}x{H // 2}, the shot is {W}x{H}"):
        Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)


def test_a_keyframe_outside_the_shot_is_an_error(tmp_path):
    write_png(tmp_path / "key.0002.png", ramp())
    write_png(tmp_path / "key.0012.png", ramp())
    with pytest.raises(InputError, match=r"key\.0012\.png: frame 12 is not a frame of the shot \(1-8\)"):
        Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)


def test_no_keyframes_is_an_error(tmp_path):
    with pytest.raises(InputError, match="--keyframes"):
        Keyframes(str(tmp_path / "key.####.png"), FRAMES, W, H)
