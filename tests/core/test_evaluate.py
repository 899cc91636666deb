"""The paper's video matting metrics, checked by hand on tiny mattes, and their sequence driver."""
import math

import numpy as np
import OpenImageIO as oiio
import pytest

from rvmatte import evaluate as ev
from rvmatte.errors import InputError


def write_matte(path, values, channel="Y", fmt=oiio.UINT8):
    values = np.asarray(values, np.float32)
    spec = oiio.ImageSpec(values.shape[1], values.shape[0], 1, fmt)
    spec.channelnames = (channel,)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(values[:, :, None]))
    out.close()


PRED = np.array([[0.0, 0.5], [1.0, 1.0]])
TRUE = np.array([[0.0, 0.0], [1.0, 0.5]])


def test_mad_is_the_mean_absolute_difference_times_1e3():
    assert ev.mad(PRED, TRUE) == pytest.approx(250.0)        # |Δ| = 0, .5, 0, .5


def test_mse_is_the_mean_squared_difference_times_1e3():
    assert ev.mse(PRED, TRUE) == pytest.approx(125.0)        # Δ² = 0, .25, 0, .25


def test_dtssd_compares_the_change_of_prediction_and_truth_times_1e2():
    # prediction changed by +0.5 on one pixel of four, the truth did not change
    prev = np.zeros((2, 2))
    pred = np.array([[0.5, 0.0], [0.0, 0.0]])
    assert ev.dtssd(pred, prev, prev, prev) == pytest.approx(math.sqrt(0.25 / 4) * 100)     # 25
    assert ev.dtssd(pred, prev, pred, prev) == 0.0             # same change as the truth: no error


def test_gradient_filter_is_9_taps_and_unit_norm_for_sigma_1_4():
    gauss, derivative, norm = ev.gaussian_derivative_kernels(1.4)
    assert len(gauss) == len(derivative) == 9                  # half width ceil(3.62) = 4
    kernel = np.outer(gauss, derivative) / norm
    assert (kernel ** 2).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(kernel, -kernel[:, ::-1])        # odd in x


def test_grad_of_a_step_against_a_flat_truth_matches_the_filter_by_hand():
    # A vertical edge 0 → 1 between columns 5 and 6 of a 4x12 matte; the truth is flat (its
    # min-max normalisation is all zeros, so its gradient is 0). Rows are constant, so the
    # vertical derivative vanishes and |∇| at column x is |Σ_i g(i)| · |Σ_j g'(j) step(x+j)| / norm.
    sigma, half = 1.4, 4
    taps = np.arange(-half, half + 1)
    g = np.exp(-taps ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    dg = -taps * g / sigma ** 2
    norm = math.sqrt((np.outer(g, dg) ** 2).sum())
    step = np.r_[np.zeros(6), np.ones(6)]
    padded = np.r_[np.zeros(half), step, np.ones(half)]        # replicated borders
    magnitude = [abs(g.sum() * (dg * padded[x:x + 9]).sum()) / norm for x in range(12)]
    expected = 4 * sum(m ** 2 for m in magnitude) / 1000
    pred = np.tile(step, (4, 1))
    assert ev.grad(pred, np.full((4, 12), 0.3)) == pytest.approx(expected, rel=1e-9)
    assert expected > 0.001


def test_grad_ignores_a_global_gain_because_both_mattes_are_min_max_normalised():
    rng = np.random.default_rng(1)
    true = rng.random((16, 16))
    assert ev.grad(true * 0.5, true) == pytest.approx(0.0, abs=1e-12)


def test_conn_counts_the_pixel_cut_off_from_the_largest_shared_component():
    # truth all 1; prediction loses the middle pixel. The shared region at every threshold is
    # {0} and {2}; the first is kept, so pixels 1 and 2 drop to level 0 and pixel 0 stays at 1.
    # φ_true = [1, 0, 0], φ_pred = [1, 1, 0] → Σ|Δφ| = 1 → 0.001.
    assert ev.conn(np.array([[1.0, 0.0, 1.0]]), np.ones((1, 3))) == pytest.approx(0.001)


def test_conn_ignores_differences_below_0_15_above_the_shared_level():
    # truth 0.5, 0.5; prediction 0.5, 0.3. Pixel 1 leaves the shared region at the 0.3 step
    # (0.3 < 0.1 * 3 in floating point), so its level is 0.2: φ_true = 1 − 0.3, φ_pred = 1
    # (0.1 < 0.15). Pixel 0 levels at 0.5 with φ = 1 for both. Σ|Δφ| = 0.3 → 0.0003.
    assert ev.conn(np.array([[0.5, 0.3]]), np.array([[0.5, 0.5]])) == pytest.approx(0.0003)


def test_perfect_prediction_scores_zero_everywhere():
    rng = np.random.default_rng(2)
    true = rng.random((20, 30))
    scores = ev.frame_metrics(true, true, true * 0.9, true * 0.9)
    assert scores == {"mad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0, "dtssd": 0.0}


def test_largest_component_uses_4_connectivity():
    mask = np.array([[1, 1, 0, 0],
                     [0, 1, 0, 1],
                     [0, 0, 1, 1],
                     [1, 0, 1, 1]], bool)
    expected = np.array([[0, 0, 0, 0],
                         [0, 0, 0, 1],
                         [0, 0, 1, 1],
                         [0, 0, 1, 1]], bool)          # diagonal contact does not join
    np.testing.assert_array_equal(ev.largest_component(mask), expected)


def test_largest_component_matches_a_flood_fill_on_random_masks():
    rng = np.random.default_rng(3)
    for _ in range(50):
        mask = rng.random((rng.integers(1, 14), rng.integers(1, 14))) < rng.uniform(0.3, 0.7)
        assert ev.largest_component(mask).sum() == _flood_fill_largest(mask)


def _flood_fill_largest(mask):
    seen = np.zeros_like(mask)
    best = 0
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        stack, size = [(y, x)], 0
        seen[y, x] = True
        while stack:
            a, b = stack.pop()
            size += 1
            for u, v in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
                if 0 <= u < mask.shape[0] and 0 <= v < mask.shape[1] and mask[u, v] and not seen[u, v]:
                    seen[u, v] = True
                    stack.append((u, v))
        best = max(best, size)
    return best


@pytest.fixture
def tiny_case(tmp_path):
    """Three 2x2 frames (10-12): 8-bit PNG truth, half-float EXR predictions (channel A)."""
    truth = [np.zeros((2, 2)), np.zeros((2, 2)), np.full((2, 2), 1.0)]
    preds = [np.array([[0.5, 0], [0, 0]]), np.zeros((2, 2)), np.full((2, 2), 1.0)]
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    for i, (t, p) in enumerate(zip(truth, preds)):
        write_matte(tmp_path / "gt" / f"gt.{10 + i:04d}.png", t)
        write_matte(tmp_path / "pred" / f"alpha.{10 + i:04d}.exr", p, channel="A", fmt=oiio.HALF)
    return str(tmp_path / "pred" / "alpha.####.exr"), str(tmp_path / "gt" / "gt.####.png")


def test_sequences_are_matched_by_frame_and_scored_per_frame(tiny_case):
    result = ev.evaluate_sequences(*tiny_case, first_frames=1, metrics=("mad", "mse", "dtssd"))
    assert result.frames == [10, 11, 12]
    assert [r["mad"] for r in result.per_frame] == pytest.approx([125.0, 0.0, 0.0])
    assert [r["mse"] for r in result.per_frame] == pytest.approx([62.5, 0.0, 0.0])
    # frame 11: the prediction dropped 0.5 on one pixel, the truth stayed → sqrt(.25/4)·100 = 25;
    # frame 12: both rose by 1 everywhere → 0; frame 10 counts as 0.
    assert [r["dtssd"] for r in result.per_frame] == pytest.approx([0.0, 25.0, 0.0])
    assert result.overall["mad"] == pytest.approx(125.0 / 3)
    assert result.first == pytest.approx({"mad": 125.0, "mse": 62.5, "dtssd": 0.0})
    assert result.rest == pytest.approx({"mad": 0.0, "mse": 0.0, "dtssd": 12.5})


def test_a_size_mismatch_is_a_clear_error(tmp_path, tiny_case):
    write_matte(tmp_path / "big.0010.png", np.zeros((3, 3)))
    with pytest.raises(InputError, match="is 2x2, the ground truth .* is 3x3"):
        ev.evaluate_sequences(tiny_case[0], str(tmp_path / "big.####.png"))


def test_sequences_without_a_common_frame_are_a_clear_error(tmp_path, tiny_case):
    write_matte(tmp_path / "other.0001.png", np.zeros((2, 2)))
    with pytest.raises(InputError, match="no frame in common"):
        ev.evaluate_sequences(tiny_case[0], str(tmp_path / "other.####.png"))


def test_flicker_measures_alpha_change_only_where_the_plate_is_still():
    plate = np.zeros((2, 2, 3))
    moved = plate.copy()
    moved[0, 0] = 0.5                                  # one pixel of the plate changed
    alpha_prev = np.zeros((2, 2))
    alpha = np.array([[1.0, 0.2], [0.0, 0.0]])         # it changed at the moving pixel and one still one
    result = ev.flicker(alpha, alpha_prev, moved, plate)
    assert result["still"] == pytest.approx(0.75)
    assert result["flicker"] == pytest.approx(0.2 / 3 * 1e3)
