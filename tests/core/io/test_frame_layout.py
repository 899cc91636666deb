"""Every frame of a sequence is read like the first: a deep frame, another file type, other colour
channels or another colour interpretation mid-shot is an error naming the frame; harmless
differences (half vs float, extra channels) are read with one warning."""
import numpy as np
import OpenImageIO as oiio
import pytest

from rvmatte.errors import InputError
from rvmatte.io import open_input

W, H = 32, 16


def write_flat(path, channels=("R", "G", "B"), fmt=oiio.HALF, value=0.25, file_format=None):
    spec = oiio.ImageSpec(W, H, len(channels), fmt)
    spec.channelnames = tuple(channels)
    out = oiio.ImageOutput.create(file_format or str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(np.full((H, W, len(channels)), value, np.float32)), out.geterror()
    out.close()


def write_deep(path, width=W, height=H):
    spec = oiio.ImageSpec(width, height, 4, oiio.HALF)
    spec.channelnames = ("R", "G", "B", "A")
    spec.deep = True
    deep = oiio.DeepData()
    deep.init(spec)
    for pixel in range(width * height):
        deep.set_samples(pixel, 2)
        for channel in range(4):
            for sample in range(2):
                deep.set_deep_value(pixel, channel, sample, 0.9)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_deep_image(deep), out.geterror()
    out.close()


@pytest.fixture
def shot(tmp_path):
    for frame in (1001, 1002, 1003):
        write_flat(tmp_path / f"plate.{frame}.exr")
    return tmp_path


def read_all(directory):
    source = open_input(str(directory / "plate.####.exr"))
    return list(source.read(source.frames))


def test_a_deep_frame_in_a_flat_sequence_is_an_error_naming_it(shot):
    write_deep(shot / "plate.1002.exr")
    with pytest.raises(InputError, match=r"frame 1002: .*plate\.1002\.exr is a deep image"):
        read_all(shot)


def test_a_frame_of_another_file_type_is_an_error_naming_it(shot):
    write_flat(shot / "plate.1003.exr", fmt=oiio.UINT16, file_format="tiff")
    with pytest.raises(InputError, match=r"frame 1003: .* is a tiff file, frame 1001 is openexr"):
        read_all(shot)


def test_a_frame_with_other_colour_channels_is_an_error_naming_it(shot):
    write_flat(shot / "plate.1002.exr", channels=("Y",))
    with pytest.raises(InputError, match=r"frame 1002: .* has colour channels Y, frame 1001 has R,G,B"):
        read_all(shot)


def test_integer_frames_turning_float_mid_shot_is_an_error(tmp_path):
    write_flat(tmp_path / "plate.1001.tif", fmt=oiio.UINT16)
    write_flat(tmp_path / "plate.1002.tif", fmt=oiio.FLOAT)
    source = open_input(str(tmp_path / "plate.####.tif"))
    with pytest.raises(InputError, match=r"frame 1002: .* stores float \(scene-linear\) colour"):
        list(source.read(source.frames))


def test_half_turning_float_is_read_with_one_warning(shot):
    write_flat(shot / "plate.1002.exr", fmt=oiio.FLOAT)
    write_flat(shot / "plate.1003.exr", fmt=oiio.FLOAT)
    plates = read_all(shot)
    assert [p.warning is not None for p in plates] == [False, True, False]
    assert "frame 1002" in plates[1].warning and "harmless" in plates[1].warning
    assert all(np.allclose(p.rgb, 0.25) for p in plates)


def test_an_added_alpha_channel_is_read_with_a_warning(shot):
    write_flat(shot / "plate.1003.exr", channels=("R", "G", "B", "A"))
    plates = read_all(shot)
    assert plates[2].warning is not None and "only the colour channels are read" in plates[2].warning
    assert np.allclose(plates[2].rgb, 0.25)


def test_a_sequence_laid_out_alike_reads_without_warnings(shot):
    assert all(p.warning is None for p in read_all(shot))


def test_run_stops_at_a_deep_frame_and_keeps_the_frames_before_it(tmp_path, capsys):
    from rvmatte.cli import main
    from rvmatte.io import frame_is_complete
    from shots import make_exr_shot

    shot = make_exr_shot(tmp_path / "in", frames=range(1001, 1005))
    first = oiio.ImageInput.open(shot.replace("####", "1001"))
    width, height = first.spec().width, first.spec().height
    first.close()
    write_deep(shot.replace("####", "1003"), width, height)
    out = tmp_path / "out"
    assert main(["run", shot, "-o", str(out), "--downsample-ratio", "0.5", "--device", "cpu",
                 "--progress", "none"]) != 0
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rvmatte: error:")]
    assert len(errors) == 1 and "frame 1003" in errors[0] and "deep" in errors[0]
    written = sorted(p.name for p in out.iterdir())
    assert "plate.alpha.1003.exr" not in written and "plate.alpha.1004.exr" not in written
    assert all(frame_is_complete(str(out / name)) for name in written)
