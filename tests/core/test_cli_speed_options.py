"""The speed options of ``rvmatte run`` reach the pipeline; unset ones leave the device defaults."""
from rvmatte.cli import _options_from, build_parser


def _options(tmp_path, *extra):
    from shots import make_png_shot

    shot = make_png_shot(tmp_path / "in", count=1)
    return _options_from(build_parser().parse_args(["run", shot, "-o", str(tmp_path / "out"), *extra]))


def test_speed_options_default_to_the_device_tuning(tmp_path):
    options = _options(tmp_path)
    assert (options.threads, options.writers, options.seq_chunk, options.fold_batchnorm) == (None, None, None, None)


def test_threads_writers_and_folding_can_be_set(tmp_path):
    options = _options(tmp_path, "--threads", "2", "--writers", "3", "--seq-chunk", "2", "--no-fold-batchnorm")
    assert (options.threads, options.writers, options.seq_chunk, options.fold_batchnorm) == (2, 3, 2, False)
