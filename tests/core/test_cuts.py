"""Hard-cut detection by frame differences, and --reset-at parsing."""
import numpy as np
import pytest

from rvmatte.cuts import detect_cuts, parse_reset_at, thumbnail


def scene(seed, frames, motion=1):
    """A textured scene panned by ``motion`` pixels a frame (HxWx3 in 0..1)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:80, 0:240]
    big = np.zeros((80, 240, 3))
    for _ in range(8):
        freq, angle, phase = rng.uniform(0.02, 0.15), rng.uniform(0, np.pi), rng.uniform(0, 6.3)
        wave = np.sin((x * np.cos(angle) + y * np.sin(angle)) * freq + phase)
        big += wave[:, :, None] * rng.uniform(-0.15, 0.15, 3)
    big = np.clip(big + rng.uniform(0.2, 0.8, 3), 0, 1)
    return [np.ascontiguousarray(big[:, i * motion:i * motion + 120]) for i in range(frames)]


def test_a_join_of_two_scenes_is_found_at_the_first_frame_of_the_second():
    images = scene(1, 8) + scene(2, 6)
    cuts = detect_cuts(range(1001, 1015), images)
    assert [c.frame for c in cuts] == [1009]
    assert cuts[0].source == "detected" and cuts[0].score > 4


def test_camera_motion_within_a_shot_is_not_a_cut():
    assert detect_cuts(range(12), scene(3, 12, motion=3)) == []


def test_a_gap_in_the_frame_numbers_is_not_judged():
    images = scene(1, 4) + scene(2, 4)
    assert detect_cuts([1, 2, 3, 4, 10, 11, 12, 13], images) == []


def test_thumbnails_are_about_96_pixels_wide():
    assert thumbnail(np.zeros((720, 1280, 3), np.float32)).shape == (720 // 13, 1280 // 13, 3)


def test_reset_at_takes_a_comma_list():
    assert parse_reset_at("1040, 1015,1015") == [1015, 1040]
    with pytest.raises(ValueError, match="--reset-at 'a,b'"):
        parse_reset_at("a,b")
