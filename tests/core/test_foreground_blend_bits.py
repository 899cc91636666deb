"""The edge blend's in-place masked arithmetic gives the very bits of the plain formula
(boolean gathers, ``plate[band] += (model - plate)[band] * w[band]``) it replaced for speed."""
import numpy as np

from rvmatte.foreground import BAND_ROWS, EDGE_BAND_HIGH, EDGE_BAND_LOW, blend_edge, edge_weight


def gathered_blend(plate, model, pha):
    """The reference: the smoothstep and the blend written out, touching band pixels only."""
    t = np.clip((EDGE_BAND_HIGH - pha) / np.float32(EDGE_BAND_HIGH - EDGE_BAND_LOW), 0.0, 1.0)
    w = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
    out = plate.copy()
    band = w > 0
    delta = model[band] - out[band]
    delta *= w[band][:, None]
    out[band] += delta
    return out, w


def frame(seed=3, shape=(48, 64)):
    rng = np.random.default_rng(seed)
    pha = rng.random(shape).astype(np.float32)
    pha[:8] = 0.0
    pha[8:16] = 1.0
    pha[16, :4] = (EDGE_BAND_LOW, EDGE_BAND_HIGH, np.nextafter(np.float32(EDGE_BAND_HIGH), 0), 0.5)
    plate = (rng.random(shape + (3,)) * 6.0).astype(np.float32)
    plate[8, :3] = -0.0                                    # a signed zero where the subject is solid
    model = rng.random(shape + (3,)).astype(np.float32)
    return plate, model, pha


def test_the_band_weight_equals_the_written_out_smoothstep_bit_for_bit():
    _, _, pha = frame()
    assert edge_weight(pha).dtype == np.float32
    assert edge_weight(pha).tobytes() == gathered_blend(*frame())[1].tobytes()


def test_the_blend_equals_the_gathered_formula_bit_for_bit():
    plate, model, pha = frame()
    expected, _ = gathered_blend(plate, model, pha)
    assert blend_edge(plate.copy(), model, pha).tobytes() == expected.tobytes()


def test_pixels_outside_the_band_keep_their_bits_signed_zeros_included():
    plate, model, pha = frame()
    out = blend_edge(plate.copy(), model, pha)
    assert np.signbit(out[8, :3]).all()
    assert out[8:16].tobytes() == plate[8:16].tobytes()


def test_the_blend_works_in_place_on_the_plate_and_leaves_the_model_alone():
    plate, model, pha = frame()
    model_before = model.copy()
    out = blend_edge(plate, model, pha)
    assert out is plate
    assert model.tobytes() == model_before.tobytes()


def test_a_frame_taller_than_one_band_of_rows_blends_every_row_bit_for_bit():
    # a box that starts and ends inside bands, with rows above and below it solid
    plate, model, pha = frame(seed=5, shape=(3 * BAND_ROWS + 17, 40))
    pha[:BAND_ROWS // 2 + 3] = 1.0
    pha[-5:] = 1.0
    expected, _ = gathered_blend(plate, model, pha)
    assert blend_edge(plate.copy(), model, pha).tobytes() == expected.tobytes()
