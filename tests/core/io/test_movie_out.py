"""Review movies: H.264 and ProRes 4444 with alpha, written in frame order, atomically."""
import os

import av
import numpy as np
import pytest

from rvmatte.errors import OutputError
from rvmatte.io.movie_out import InOrder, MovieTarget, MovieWriter


def decode(path, format="rgb24"):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        frames = [f.to_ndarray(format=format) for f in container.decode(stream)]
    return frames, rate, stream.codec_context.name


def grey_frames(levels, height=32, width=48):
    return [np.full((height, width, 3), level, dtype=np.float32) for level in levels]


def test_h264_movie_decodes_to_the_frames_written(tmp_path):
    path = tmp_path / "review.mp4"
    ramp = np.linspace(0, 1, 48, dtype=np.float32)
    image = np.stack([np.tile(ramp, (32, 1)), np.full((32, 48), 0.25, np.float32),
                      np.tile(ramp[::-1], (32, 1))], axis=2)
    writer = MovieWriter(str(path), 48, 32, fps=25, bitrate=4_000_000)
    for _ in range(3):
        writer.write(image)
    writer.close()
    frames, rate, codec = decode(path)
    assert codec == "h264" and rate == 25 and len(frames) == 3
    assert np.abs(frames[1] / 255.0 - image).mean() < 0.02


def test_prores_4444_carries_alpha(tmp_path):
    path = tmp_path / "review.mov"
    rgba = np.zeros((32, 48, 4), dtype=np.float32)
    rgba[..., 1] = 0.5
    rgba[..., 3] = np.linspace(0, 1, 48, dtype=np.float32)[None, :]
    writer = MovieWriter(str(path), 48, 32, fps=24)
    writer.write(rgba)
    writer.close()
    frames, _, codec = decode(path, format="rgba64le")
    assert codec == "prores"
    alpha = frames[0][..., 3] / 65535.0
    assert np.abs(alpha - rgba[..., 3]).max() < 2e-3


def test_grey_frames_fill_every_colour_channel(tmp_path):
    path = tmp_path / "alpha.mp4"
    writer = MovieWriter(str(path), 48, 32)
    writer.write(np.full((32, 48), 0.75, dtype=np.float32))
    writer.close()
    frames, rate, _ = decode(path)
    assert rate == 24
    assert np.allclose(frames[0].mean(axis=(0, 1)), 0.75 * 255, atol=3)


def test_odd_sizes_are_padded_to_even_for_h264(tmp_path):
    path = tmp_path / "odd.mp4"
    writer = MovieWriter(str(path), 33, 17)
    writer.write(np.full((17, 33, 3), 0.5, dtype=np.float32))
    writer.close()
    frames, _, _ = decode(path)
    assert frames[0].shape == (18, 34, 3)


def test_in_order_encodes_frames_in_frame_order_whatever_the_arrival(tmp_path):
    path = tmp_path / "ordered.mp4"
    levels = {1001: 0.1, 1002: 0.4, 1003: 0.7, 1004: 0.95}
    ordered = InOrder(MovieWriter(str(path), 48, 32, bitrate=4_000_000), levels)
    for frame in (1003, 1001, 1004, 1002):
        ordered.put(frame, np.full((32, 48, 3), levels[frame], dtype=np.float32))
    assert ordered.complete
    ordered.writer.close()
    frames, _, _ = decode(path)
    assert [round(f.mean() / 255, 1) for f in frames] == [0.1, 0.4, 0.7, 0.9]


def test_an_aborted_movie_leaves_no_file(tmp_path):
    path = tmp_path / "failed.mov"
    writer = MovieWriter(str(path), 48, 32)
    writer.write(np.zeros((32, 48, 3), dtype=np.float32))
    writer.abort()
    assert os.listdir(tmp_path) == []


def test_a_movie_is_in_place_only_after_close(tmp_path):
    path = tmp_path / "late.mp4"
    writer = MovieWriter(str(path), 48, 32)
    writer.write(np.zeros((32, 48, 3), dtype=np.float32))
    assert not path.exists()
    writer.close()
    assert path.exists() and len(os.listdir(tmp_path)) == 1


def test_a_movie_without_frames_is_an_error_naming_it(tmp_path):
    writer = MovieWriter(str(tmp_path / "empty.mp4"), 48, 32)
    with pytest.raises(OutputError, match="empty.mp4: no frames"):
        writer.close()
    assert os.listdir(tmp_path) == []


def test_unsupported_movie_extension_is_a_clear_error(tmp_path):
    with pytest.raises(OutputError, match=r"review\.avi: movie outputs are .*\.mov"):
        MovieTarget(str(tmp_path / "review.avi"))


def test_movie_target_stands_for_every_frame():
    target = MovieTarget("out/review.mov")
    assert target.path(1001) == target.path(1002) == "out/review.mov"
