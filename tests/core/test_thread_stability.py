"""Thread count and --seq-chunk are not bit-stable (oneDNN splits its sums by core count), but
they move alpha by at most one half-float step: the bound docs/farm.md states."""
import numpy as np
import pytest
import torch

from rvmatte.cli import main
from shots import make_exr_shot, read

#: One half-float step just below 1.0 (2**-11 = 4.88e-4): what the default half pass can show.
HALF_STEP = 4.9e-4


@pytest.fixture(scope="module")
def chunk(tmp_path_factory):
    return make_exr_shot(tmp_path_factory.mktemp("chunk") / "in", frames=range(1001, 1005))


@pytest.fixture(autouse=True)
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _alpha(chunk, out, *options):
    assert main(["run", chunk, "--alpha", str(out / "a.####.exr"), "--float", "--device", "cpu",
                 "--downsample-ratio", "0.5", "--progress", "none", *options]) == 0
    return np.stack([read(out / f"a.{f}.exr") for f in range(1001, 1005)])


def test_one_thread_and_two_threads_differ_by_at_most_one_half_float_step(chunk, tmp_path):
    one = _alpha(chunk, tmp_path / "one", "--threads", "1")
    two = _alpha(chunk, tmp_path / "two", "--threads", "2")
    assert float(np.abs(one - two).max()) <= HALF_STEP


def test_seq_chunk_sizes_differ_by_at_most_one_half_float_step(chunk, tmp_path):
    single = _alpha(chunk, tmp_path / "c1", "--threads", "1", "--seq-chunk", "1")
    batched = _alpha(chunk, tmp_path / "c4", "--threads", "1", "--seq-chunk", "4")
    assert float(np.abs(single - batched).max()) <= HALF_STEP


def test_thread_count_and_seq_chunk_are_not_part_of_the_result_key():
    from rvmatte.result_key import NOT_RESULT_AFFECTING, RESULT_AFFECTING

    for dest in ("threads", "seq_chunk"):
        assert dest in NOT_RESULT_AFFECTING and dest not in RESULT_AFFECTING
