"""convert_video: a script written for the original RVM runs unchanged but for its imports."""
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

import rvmatte
from clips import ground_truth_alpha, read_image, small_clip
from rvmatte.convert import ConvertError, convert_video
from rvmatte.io.movie_out import MovieWriter
from rvmatte.model import MattingNetwork

FRAMES, WIDTH, HEIGHT = 8, 256, 144
GREEN = np.array([120, 255, 155], dtype=np.float32) / 255


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return small_clip(tmp_path_factory.mktemp("convert") / "clip", FRAMES, (WIDTH, HEIGHT))


@pytest.fixture(scope="module")
def reference(model, clip):
    """The eager model over the clip, frame by frame with the state fed back, as RVM's docs show."""
    rec, phas, fgrs = [None] * 4, [], []
    with torch.no_grad():
        for i in range(FRAMES):
            src = torch.from_numpy(read_image(clip / f"{i:04d}.png")).permute(2, 0, 1)[None]
            fgr, pha, *rec = model(src, *rec, downsample_ratio=0.5)
            phas.append(pha[0, 0].numpy())
            fgrs.append(fgr[0].permute(1, 2, 0).numpy())
    return np.stack(phas), np.stack(fgrs)


@pytest.fixture(scope="module")
def script_output(clip, weights_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("converted")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(rvmatte.__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    script = Path(__file__).with_name("original_rvm_script.py")
    result = subprocess.run([sys.executable, str(script), str(weights_path), str(clip), str(out)],
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def decode(path, format="rgb24"):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format=format).astype(np.float32) / 255 for f in container.decode(stream)]
        return np.stack(frames), stream.average_rate, stream.codec_context.name


def png_folder(folder):
    names = sorted(os.listdir(folder))
    return names, np.stack([read_image(folder / name) for name in names])


@pytest.mark.parametrize("name", ["com.mp4", "pha.mp4", "fgr.mp4"])
def test_video_outputs_are_h264_movies_of_every_frame_at_30_fps(script_output, name):
    frames, rate, codec = decode(script_output / name)
    assert codec == "h264" and rate == 30
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3)


def test_video_alpha_is_the_models_alpha_as_grey(script_output, reference):
    frames, _, _ = decode(script_output / "pha.mp4")
    assert np.abs(frames - reference[0][..., None]).mean() < 0.02


def test_video_foreground_is_the_models_foreground(script_output, reference):
    frames, _, _ = decode(script_output / "fgr.mp4")
    assert np.abs(frames - reference[1]).mean() < 0.03


def test_video_composition_is_the_foreground_over_the_originals_green(script_output, reference):
    pha, fgr = reference
    expected = fgr * pha[..., None] + GREEN * (1 - pha[..., None])
    frames, _, _ = decode(script_output / "com.mp4")
    assert np.abs(frames - expected).mean() < 0.03
    background = pha == 0
    assert np.abs(frames[background].mean(axis=0) - GREEN).max() < 3 / 255


@pytest.mark.parametrize("name", ["com", "pha", "fgr"])
def test_png_sequence_outputs_are_folders_numbered_from_0000(script_output, name):
    assert sorted(os.listdir(script_output / name)) == [f"{i:04d}.png" for i in range(FRAMES)]


def test_png_alpha_is_grey_and_truncated_to_8_bits_like_the_original(script_output, reference):
    _, alpha = png_folder(script_output / "pha")
    assert alpha.shape == (FRAMES, HEIGHT, WIDTH, 1)
    expected = np.floor(reference[0] * 255)
    diff = np.abs(np.rint(alpha[..., 0] * 255) - expected)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999


def test_png_foreground_is_the_models_rgb_foreground(script_output, reference):
    _, fgr = png_folder(script_output / "fgr")
    assert fgr.shape == (FRAMES, HEIGHT, WIDTH, 3)
    assert np.abs(np.rint(fgr * 255) - np.floor(reference[1] * 255)).max() <= 1


def test_png_composition_is_rgba_with_colour_cleared_outside_the_matte(script_output, reference):
    _, com = png_folder(script_output / "com")
    _, alpha = png_folder(script_output / "pha")
    assert com.shape == (FRAMES, HEIGHT, WIDTH, 4)
    assert np.array_equal(com[..., 3], alpha[..., 0])
    assert np.all(com[..., :3][reference[0] == 0] == 0)
    inside = reference[0] > 0.5
    assert np.abs(com[..., :3][inside] - reference[1][inside]).max() <= 1.01 / 255


def test_the_matte_is_close_to_the_ground_truth(script_output):
    _, alpha = png_folder(script_output / "pha")
    truth = np.stack([ground_truth_alpha(i, (WIDTH, HEIGHT)) for i in range(FRAMES)])
    assert np.abs(alpha[..., 0] - truth).mean() < 0.05


def test_movie_input_keeps_its_frame_rate_and_input_resize_sets_the_size(model, clip, tmp_path):
    movie = tmp_path / "plate.mp4"
    writer = MovieWriter(str(movie), WIDTH, HEIGHT, fps=25, bitrate=8_000_000)
    for i in range(2):
        writer.write(read_image(clip / f"{i:04d}.png"))
    writer.close()
    convert_video(model, str(movie), input_resize=(128, 72), downsample_ratio=0.5,
                  output_composition=str(tmp_path / "com.mp4"), progress=False)
    frames, rate, _ = decode(tmp_path / "com.mp4")
    assert rate == 25 and frames.shape == (2, 72, 128, 3)


def test_a_frozen_torchscript_model_runs_with_device_and_dtype_given(tmp_path):
    clip = small_clip(tmp_path / "tiny", frames=2, size=(64, 36))
    frozen = torch.jit.freeze(torch.jit.script(MattingNetwork("mobilenetv3").eval()))
    with pytest.raises(ValueError, match="give its device and dtype"):
        convert_video(frozen, str(clip), output_alpha=str(tmp_path / "a"), output_type="png_sequence",
                      progress=False)
    convert_video(frozen, str(clip), output_alpha=str(tmp_path / "pha"), output_type="png_sequence",
                  progress=False, device="cpu", dtype=torch.float32)
    assert sorted(os.listdir(tmp_path / "pha")) == ["0000.png", "0001.png"]


@pytest.mark.parametrize("arguments,message", [
    ({}, "at least one output"),
    ({"output_alpha": "a", "output_type": "png_sequence", "output_video_mbps": 4}, "output_video_mbps"),
    ({"output_alpha": "a.mp4", "downsample_ratio": 0}, "downsample_ratio"),
    ({"output_alpha": "a.mp4", "output_type": "gif"}, "output_type"),
    ({"output_alpha": "a.mp4", "seq_chunk": 0}, "seq_chunk"),
])
def test_unusable_arguments_are_one_line_errors(model, clip, arguments, message):
    with pytest.raises(ConvertError, match=message):
        convert_video(model, str(clip), progress=False, **arguments)


def test_a_missing_input_is_an_error_naming_it(model, tmp_path):
    with pytest.raises(rvmatte.errors.RvmatteError, match="nothing-here"):
        convert_video(model, str(tmp_path / "nothing-here.mp4"), output_alpha=str(tmp_path / "a.mp4"),
                      progress=False)
