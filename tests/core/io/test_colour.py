"""Colour: model-space conversion against OCIO, default spaces, names, configs."""

import numpy as np
import OpenImageIO as oiio
import pytest
from io_files import ramp, write_image

from rvmatte.errors import InputError
from rvmatte.io import open_input
from rvmatte.io.colour import (
    LINEAR_REC709,
    SRGB,
    ColourPipeline,
    default_input_colorspace,
    resolve_colorspace,
    srgb_decode,
    srgb_encode,
)

MINIMAL_CONFIG = """\
ocio_profile_version: 2
roles:
  default: raw
  scene_linear: linear
displays:
  sRGB:
    - !<View> {name: Raw, colorspace: raw}
colorspaces:
  - !<ColorSpace>
    name: raw
    isdata: true
  - !<ColorSpace>
    name: linear
    encoding: scene-linear
  - !<ColorSpace>
    name: sRGB texture
    aliases: [srgb_texture]
    encoding: sdr-video
    from_scene_reference: !<ExponentWithLinearTransform> {gamma: 2.4, offset: 0.055, direction: inverse}
"""


@pytest.fixture(autouse=True)
def _no_ocio_env(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)


def hdr_plate(seed=3):
    rng = np.random.default_rng(seed)
    plate = rng.uniform(0.0, 1.0, size=(16, 16, 3)).astype(np.float32) ** 2.2
    plate[0, :8] = np.linspace(1.0, 16.0, 8, dtype=np.float32)[:, None]
    plate[1, :4] = [[0.0] * 3, [1e-4] * 3, [0.003] * 3, [0.0032] * 3]
    return plate


def test_linear_plate_to_model_matches_ocio_to_1e_5():
    colour = ColourPipeline(LINEAR_REC709)
    plate = hdr_plate()
    expected = np.clip(colour.ocio_convert(plate, LINEAR_REC709, SRGB), 0, 1)
    assert colour.uses_fast_path(LINEAR_REC709, SRGB)
    np.testing.assert_allclose(colour.to_model(plate), expected, atol=1e-5, rtol=0)


def test_model_values_to_linear_output_match_ocio():
    # OCIO's own CPU path approximates pow to ~4e-5 relative (1.0 decodes to 1.00004),
    # so this direction is compared relatively.
    colour = ColourPipeline(SRGB)
    encoded = np.random.default_rng(4).uniform(0, 1, size=(16, 16, 3)).astype(np.float32)
    expected = colour.ocio_convert(encoded, SRGB, LINEAR_REC709)
    np.testing.assert_allclose(colour.model_to_output(encoded), expected, atol=1e-6, rtol=1e-4)


def test_srgb_curve_round_trips():
    values = np.linspace(-0.1, 8.0, 2001, dtype=np.float32)
    np.testing.assert_allclose(srgb_decode(srgb_encode(values)), values, rtol=2e-6, atol=1e-7)


def _curves_written_out(values):
    """The reference: both sRGB curves as whole-array expressions (OCIO's C1 form)."""
    from rvmatte.io.colour import _SRGB_BREAK, _SRGB_SLOPE

    x = values.astype(np.float32)
    encoded = np.power(np.maximum(x, np.float32(_SRGB_BREAK)), np.float32(1 / 2.4)) * np.float32(1.055)
    encoded = np.where(x <= np.float32(_SRGB_BREAK), x * np.float32(_SRGB_SLOPE), encoded - np.float32(0.055))
    knee = np.float32(_SRGB_BREAK * _SRGB_SLOPE)
    decoded = np.power((np.maximum(x, knee) + np.float32(0.055)) * np.float32(1 / 1.055), np.float32(2.4))
    decoded = np.where(x <= knee, x * np.float32(1 / _SRGB_SLOPE), decoded)
    return encoded, decoded


def test_srgb_curves_worked_in_slices_give_the_whole_array_formula_bit_for_bit():
    rng = np.random.default_rng(11)
    values = (rng.random((700, 513, 3), dtype=np.float32) * 3.0 - 0.5)   # more values than one slice
    values[0, :6, 0] = (np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0)
    values[-1, -1] = (0.0031308, 0.04045, 65504.0)
    encoded, decoded = _curves_written_out(values)
    got_encoded, got_decoded = srgb_encode(values), srgb_decode(values)
    assert got_encoded.shape == values.shape and got_encoded.dtype == np.float32
    assert got_encoded.tobytes() == encoded.tobytes() and got_decoded.tobytes() == decoded.tobytes()
    strided = values[:, ::2]                                              # a view is read, not altered
    assert srgb_encode(strided).tobytes() == _curves_written_out(strided)[0].tobytes()


def test_srgb_curve_has_the_standard_anchor_points():
    np.testing.assert_allclose(srgb_encode(np.array([0.0, 0.18, 1.0])), [0.0, 0.4613561, 1.0], atol=1e-6)


def test_model_values_are_clipped_to_0_1():
    model = ColourPipeline(LINEAR_REC709).to_model(np.array([[[-0.5, 0.5, 6.0]]], np.float32))
    assert model.dtype == np.float32 and model[0, 0, 0] == 0.0 and model[0, 0, 2] == 1.0


def test_plate_to_output_keeps_values_above_one():
    plate = hdr_plate()
    np.testing.assert_array_equal(ColourPipeline(LINEAR_REC709).to_output(plate), plate)


def test_a_non_srgb_space_is_converted_by_ocio():
    colour = ColourPipeline("ACEScg")
    plate = hdr_plate()
    assert not colour.uses_fast_path("ACEScg", colour.model_space)
    expected = np.clip(colour.ocio_convert(plate, "ACEScg", SRGB), 0, 1)
    np.testing.assert_allclose(colour.to_model(plate), expected, atol=1e-6)
    assert not np.allclose(colour.to_model(plate), np.clip(srgb_encode(plate), 0, 1), atol=1e-3)


def test_a_linear_input_space_is_the_default_output_space():
    assert ColourPipeline("ACEScg").output_space == "ACEScg"


def test_an_srgb_input_gives_linear_rec709_output():
    colour = ColourPipeline("srgb_texture")
    assert (colour.input_space, colour.output_space) == (SRGB, LINEAR_REC709)


def test_srgb_plate_round_trips_to_linear_and_back():
    colour = ColourPipeline(SRGB)
    plate = np.random.default_rng(5).uniform(0, 1, size=(8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(colour.output_to_model(colour.to_output(plate)), plate, atol=1e-5)


def test_a_non_linear_output_space_is_refused():
    with pytest.raises(InputError, match="not scene-linear"):
        ColourPipeline(LINEAR_REC709, output_space="srgb_texture")


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("srgb_texture", SRGB),
        ("lin_rec709", LINEAR_REC709),
        ("lin_rec709_scene", LINEAR_REC709),
        ("scene_linear", "ACEScg"),
        ("acescg", "ACEScg"),
    ],
)
def test_aliases_roles_and_case_resolve_through_the_config(name, canonical):
    assert resolve_colorspace(name) == canonical


def test_an_unknown_colour_space_is_an_error_listing_valid_names():
    with pytest.raises(InputError, match=r"unknown colour space 'ACES cg' in OCIO config ocio://default; valid names include: 'ACEScg'"):
        resolve_colorspace("ACES cg")


def test_a_config_file_can_be_given(tmp_path):
    config = tmp_path / "mini.ocio"
    config.write_text(MINIMAL_CONFIG)
    colour = ColourPipeline("linear", config=str(config))
    assert (colour.config_name, colour.model_space, colour.output_space) == (str(config), "sRGB texture", "linear")
    np.testing.assert_allclose(colour.to_model(np.full((1, 1, 3), 0.18, np.float32)), 0.4613561, atol=1e-5)


def test_the_ocio_environment_variable_is_the_default_config(tmp_path, monkeypatch):
    config = tmp_path / "mini.ocio"
    config.write_text(MINIMAL_CONFIG)
    monkeypatch.setenv("OCIO", str(config))
    assert ColourPipeline("linear").config_name == str(config)


def test_a_missing_config_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=f"OCIO config not found: {tmp_path / 'none.ocio'}"):
        ColourPipeline(LINEAR_REC709, config=str(tmp_path / "none.ocio"))


def test_exr_defaults_to_linear_rec709_not_the_scene_linear_role(exr_shot):
    assert default_input_colorspace(open_input(str(exr_shot))) == (LINEAR_REC709, None)


@pytest.mark.parametrize("extension, pixel_type", [("png", "uint8"), ("tif", "uint16"), ("jpg", "uint8")])
def test_integer_files_default_to_srgb(tmp_path, extension, pixel_type):
    write_image(tmp_path / f"i.0001.{extension}", ramp(), pixel_type=pixel_type)
    assert default_input_colorspace(open_input(str(tmp_path / f"i.0001.{extension}"))) == (SRGB, None)


def test_float_tiff_defaults_to_linear(tmp_path):
    write_image(tmp_path / "f.0001.tif", ramp(), pixel_type="float")
    assert default_input_colorspace(open_input(str(tmp_path / "f.0001.tif")))[0] == LINEAR_REC709


def test_movies_default_to_srgb(shared_dir):
    movie = shared_dir / "data" / "real_video" / "rvmnuke_person_short_360x640" / "nuke_person_short.mp4"
    assert default_input_colorspace(open_input(str(movie))) == (SRGB, None)


def test_a_colour_space_tag_in_the_file_wins(tmp_path):
    write_image(tmp_path / "c.0001.exr", ramp(), attributes={"oiio:ColorSpace": "ACEScg"})
    assert default_input_colorspace(open_input(str(tmp_path / "c.0001.exr"))) == ("ACEScg", None)


def test_an_aces_container_flag_means_aces2065_1(tmp_path):
    write_image(tmp_path / "a.0001.exr", ramp(), attributes={"acesImageContainerFlag": 1, "compression": "none"})
    assert default_input_colorspace(open_input(str(tmp_path / "a.0001.exr"))) == ("ACES2065-1", None)


def test_ap1_chromaticities_mean_acescg(tmp_path):
    ap1 = (oiio.TypeDesc("float[8]"), (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767))
    write_image(tmp_path / "c.0001.exr", ramp(), attributes={"chromaticities": ap1})
    assert default_input_colorspace(open_input(str(tmp_path / "c.0001.exr"))) == ("ACEScg", None)


def test_a_png_gamma_tag_is_honoured(tmp_path):
    write_image(tmp_path / "g.0001.png", ramp(), pixel_type="uint8", attributes={"oiio:ColorSpace": "g22_rec709"})
    assert default_input_colorspace(open_input(str(tmp_path / "g.0001.png"))) == ("Gamma 2.2 Encoded Rec.709", None)


def test_an_unknown_colour_space_tag_warns_and_falls_back(tmp_path):
    write_image(tmp_path / "c.0001.exr", ramp(), attributes={"colorInteropID": "StudioLogC"})
    space, warning = default_input_colorspace(open_input(str(tmp_path / "c.0001.exr")))
    assert space == LINEAR_REC709
    assert "c.0001.exr" in warning and "StudioLogC" in warning


def test_a_dpx_without_colour_metadata_warns_naming_the_file(tmp_path):
    write_image(tmp_path / "scan.1001.dpx", ramp(), pixel_type="uint16")
    source = open_input(str(tmp_path / "scan.1001.dpx"))
    space, warning = default_input_colorspace(source)
    assert space == SRGB
    assert warning.startswith(f"{tmp_path / 'scan.1001.dpx'}: DPX without colour space metadata")


def test_the_recorded_colour_space_reads_back_as_an_ocio_name(tmp_path):
    from rvmatte.io import write_frame

    write_frame(str(tmp_path / "o.exr"), ramp(), ["R", "G", "B"], colorspace="ACEScg")
    inp = oiio.ImageInput.open(str(tmp_path / "o.exr"))
    tag = inp.spec().get_string_attribute("oiio:ColorSpace")
    inp.close()
    assert resolve_colorspace(tag) == "ACEScg"
