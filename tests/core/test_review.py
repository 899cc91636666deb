"""`rvmatte run` review media: linear-light composites, movie outputs in order, contact sheets."""
import os

import av
import numpy as np
import OpenImageIO as oiio
import pytest

from clips import read_image
from rvmatte.cli import _options_from, build_parser, main
from rvmatte.review import parse_background_colour
from paths import TEST_WEIGHTS
from shots import composite_frame, srgb_to_linear

FAST = ["--downsample-ratio", "0.5", "--device", "cpu", "--progress", "none", "--weights", str(TEST_WEIGHTS)]
SIZE = (128, 72)
BACKGROUND_LEVELS = (0.2, 0.45, 0.7, 0.95)


def small_shot(directory, count=4):
    """dev02 frames 1001-1004 at 128x72 (8-bit PNG)."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        buf = oiio.ImageBuf(np.ascontiguousarray(composite_frame(i, SIZE)))
        assert buf.write(str(directory / f"plate.{1001 + i:04d}.png"), "uint8")
    return str(directory / "plate.####.png")


def decode(path, format="rgb24", scale=255.0):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format=format).astype(np.float32) / scale for f in container.decode(stream)]
        return np.stack(frames), stream.average_rate, stream.codec_context.name


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    return small_shot(tmp_path_factory.mktemp("review") / "in")


@pytest.fixture(scope="module")
def over_blue(shot, tmp_path_factory):
    """EXR passes and an EXR composite over sRGB blue."""
    out = tmp_path_factory.mktemp("over_blue")
    assert main(["run", shot, "--alpha", str(out / "pha.####.exr"), "--foreground", str(out / "fg.####.exr"),
                 "--composite", str(out / "comp.####.exr"), "--background-colour", "0,0,255", *FAST]) == 0
    return out


@pytest.fixture(scope="module")
def over_plates(shot, tmp_path_factory):
    """Movie outputs over a background sequence numbered 1-4 (matched by offset to 1001-1004)."""
    out = tmp_path_factory.mktemp("over_plates")
    backgrounds = out / "bg"
    backgrounds.mkdir()
    for i, level in enumerate(BACKGROUND_LEVELS):
        buf = oiio.ImageBuf(np.full((SIZE[1], SIZE[0], 3), level, dtype=np.float32))
        assert buf.write(str(backgrounds / f"bg.{i + 1:04d}.png"), "uint8")
    assert main(["run", shot, "--alpha", str(out / "pha.####.exr"), "--foreground", str(out / "fg.mov"),
                 "--composite", str(out / "comp.mp4"), "--background", str(backgrounds / "bg.####.png"),
                 "--fps", "25", "--bitrate", "4", "--contact-sheet", str(out / "sheet.png"), *FAST]) == 0
    return out


def test_exr_composite_is_the_premultiplied_foreground_over_the_colour_in_linear_light(over_blue):
    for frame in range(1001, 1005):
        fg = read_image(over_blue / f"fg.{frame}.exr")
        alpha = read_image(over_blue / f"pha.{frame}.exr")[..., 0]
        comp = read_image(over_blue / f"comp.{frame}.exr")
        expected = fg[..., :3] + np.array([0, 0, 1], dtype=np.float32) * (1 - alpha[..., None])
        assert comp.shape == (SIZE[1], SIZE[0], 3)
        assert np.abs(comp - expected).max() < 4e-3


def test_composite_movie_shows_each_frames_own_background_in_frame_order(over_plates):
    frames, rate, codec = decode(over_plates / "comp.mp4")
    assert codec == "h264" and rate == 25 and frames.shape == (4, SIZE[1], SIZE[0], 3)
    for i, level in enumerate(BACKGROUND_LEVELS):
        alpha = read_image(over_plates / f"pha.{1001 + i}.exr")[..., 0]
        background = frames[i][alpha == 0]
        assert np.abs(background.mean(axis=0) - level).max() < 3 / 255


def test_prores_foreground_carries_the_alpha_pass(over_plates):
    frames, _, codec = decode(over_plates / "fg.mov", format="rgba64le", scale=65535.0)
    assert codec == "prores" and len(frames) == 4
    for i in range(4):
        alpha = read_image(over_plates / f"pha.{1001 + i}.exr")[..., 0]
        assert np.abs(frames[i][..., 3] - alpha).max() < 3e-3


def test_contact_sheet_shows_plate_alpha_and_composite(over_plates):
    sheet = read_image(over_plates / "sheet.png")
    assert sheet.shape == (4 * (SIZE[1] + 32) + 32, 3 * SIZE[0] + 32, 3)
    top, left = 24 + 8 + 24, 8 + SIZE[0] + 8        # first row's alpha cell
    cell = sheet[top:top + SIZE[1], left:left + SIZE[0], 0]
    alpha = read_image(over_plates / "pha.1001.exr")[..., 0]
    assert np.abs(cell - alpha).mean() < 0.02


def test_only_the_requested_outputs_are_written(over_plates):
    assert sorted(p for p in os.listdir(over_plates) if not os.path.isdir(over_plates / p)) == \
        ["comp.mp4", "fg.mov", "pha.1001.exr", "pha.1002.exr", "pha.1003.exr", "pha.1004.exr", "sheet.png"]


def test_png_composite_is_the_srgb_encoding_of_the_linear_composite(shot, over_blue, tmp_path):
    assert main(["run", shot, "--composite", str(tmp_path / "comp.####.png"), "--background-colour", "0,0,255",
                 "--frames", "1001-1002", *FAST]) == 0
    assert sorted(p for p in os.listdir(tmp_path) if not p.startswith(".")) == ["comp.1001.png", "comp.1002.png"]
    assert sorted(os.listdir(tmp_path / ".rvmatte")) == ["comp.1001.png.json", "comp.1002.png.json"]
    png = read_image(tmp_path / "comp.1001.png")
    linear = read_image(over_blue / "comp.1001.exr")
    assert np.abs(srgb_to_linear(png) - np.clip(linear, 0, 1)).max() < 0.01


def test_bare_contact_sheet_flag_puts_the_sheet_in_the_output_folder(shot, tmp_path):
    options = _options_from(build_parser().parse_args(["run", shot, "-o", str(tmp_path), "--contact-sheet"]))
    assert options.contact_sheet == os.path.join(str(tmp_path), "plate.contact.png")
    assert options.alpha == os.path.join(str(tmp_path), "plate.alpha.####.exr")


def test_movie_outputs_cannot_be_resumed(shot, tmp_path, capsys):
    assert main(["run", shot, "--alpha", str(tmp_path / "a.mov"), "--resume", *FAST]) == 1
    assert "--resume cannot keep frames of a movie output" in capsys.readouterr().err


def test_unsupported_movie_extension_is_named(shot, tmp_path, capsys):
    assert main(["run", shot, "--composite", str(tmp_path / "c.avi"), *FAST]) == 1
    assert "c.avi: movie outputs are" in capsys.readouterr().err


def test_missing_background_is_named_before_any_work(shot, tmp_path, capsys):
    assert main(["run", shot, "--composite", str(tmp_path / "c.mp4"), "--background", str(tmp_path / "nope.####.exr"),
                 *FAST]) == 1
    assert "nope" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "c.mp4")


def test_background_colour_without_a_composite_is_refused(shot, tmp_path, capsys):
    assert main(["run", shot, "--alpha", str(tmp_path / "a.####.exr"), "--background-colour", "0,0,0", *FAST]) == 1
    assert "need --composite or --contact-sheet" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["120,255", "1,2,300", "red"])
def test_bad_background_colour_is_a_usage_error(shot, text, capsys):
    assert main(["run", shot, "--composite", "c.mp4", "--background-colour", text]) == 2
    err = capsys.readouterr().err
    assert "0-255" in err and len(err.strip().splitlines()) == 1


def test_background_colour_is_srgb_0_to_255():
    assert parse_background_colour(" 120, 255,155.5") == (120.0, 255.0, 155.5)


def test_resume_writes_only_the_missing_composite_frames(shot, over_blue, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(over_blue, out)
    os.remove(out / "comp.1002.exr")
    kept = {name: os.stat(out / name).st_mtime_ns for name in os.listdir(out)}
    assert main(["run", shot, "--alpha", str(out / "pha.####.exr"), "--foreground", str(out / "fg.####.exr"),
                 "--composite", str(out / "comp.####.exr"), "--background-colour", "0,0,255", "--resume",
                 *FAST]) == 0
    assert {name: os.stat(out / name).st_mtime_ns for name in kept} == kept
    assert np.abs(read_image(out / "comp.1002.exr") - read_image(over_blue / "comp.1002.exr")).max() < 1e-3


def test_a_contact_sheet_alone_writes_only_the_sheet(shot, tmp_path):
    assert main(["run", shot, "--contact-sheet", str(tmp_path / "review" / "sheet.png"), *FAST]) == 0
    assert os.listdir(tmp_path) == ["review"] and os.listdir(tmp_path / "review") == ["sheet.png"]
