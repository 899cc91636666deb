"""A frame that would block OpenImageIO's open (a FIFO, a stalled mount) never freezes a run."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from rvmatte.errors import InputError
from rvmatte.io import probe


def _write_png(path, value=0.5):
    import OpenImageIO as oiio

    out = oiio.ImageOutput.create(str(path))
    spec = oiio.ImageSpec(32, 16, 3, "uint8")
    assert out.open(str(path), spec)
    assert out.write_image(np.full((16, 32, 3), value, np.float32))
    out.close()


def test_a_fifo_in_the_sequence_is_an_error_naming_the_frame_at_once(tmp_path, weights_path):
    for frame in (1, 2, 4):
        _write_png(tmp_path / f"plate.{frame:04d}.png")
    os.mkfifo(tmp_path / "plate.0003.png")        # nobody ever writes to it: an open would block forever
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rvmatte", "run", str(tmp_path / "plate.####.png"),
                           "--alpha", str(tmp_path / "out" / "a.####.exr"), "--weights", str(weights_path),
                           "--device", "cpu", "--progress", "none"], capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 100
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"rvmatte: error: frame 3: cannot read {tmp_path / 'plate.0003.png'}: it is a pipe (FIFO), not an image file")
    assert sorted(os.listdir(tmp_path / "out")) == ["a.0001.exr", "a.0002.exr"]


def test_a_read_slower_than_the_timeout_is_an_error_naming_the_frame(tmp_path, monkeypatch):
    path = tmp_path / "plate.0007.png"
    _write_png(path)
    monkeypatch.setenv("RVMATTE_READ_TIMEOUT", "0.3")
    monkeypatch.setattr(probe, "_look", lambda p: time.sleep(3) or "")     # a stat that hangs on a dead mount
    started = time.monotonic()
    with pytest.raises(InputError, match=r"^frame 7: reading .*plate\.0007\.png took more than 0\.3 s"):
        probe.check_frame_file(7, str(path))
    assert time.monotonic() - started < 2


def test_a_regular_frame_passes(tmp_path):
    path = tmp_path / "plate.0001.png"
    _write_png(path)
    probe.check_frame_file(1, str(path))


@pytest.mark.parametrize("text", ["soon", "0", "-5"])
def test_a_bad_read_timeout_is_a_clear_error(monkeypatch, text):
    monkeypatch.setenv("RVMATTE_READ_TIMEOUT", text)
    with pytest.raises(InputError, match="RVMATTE_READ_TIMEOUT"):
        probe.read_timeout()
