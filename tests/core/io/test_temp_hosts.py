"""Temp files carry the writer's host (and container) identity: a cleanup on one host never
deletes a temp another host is writing (shared storage), unless it is older than a day."""
import os
import subprocess
import sys
import time

from rvmatte.io import writing
from rvmatte.io.writing import FOREIGN_TEMP_AGE_S, host_id, remove_temp_files

WRITER = r"""
import sys
from rvmatte.io.writing import _replace_atomically

def write(temp):
    with open(temp, "wb") as stream:
        stream.write(b"frame data")
    print(temp, flush=True)
    sys.stdin.readline()          # hold the temp until told to finish

_replace_atomically(sys.argv[1], write)
"""


def start_writer(path, host):
    env = dict(os.environ, RVMATTE_HOST_ID=host, PYTHONPATH=os.pathsep.join(sys.path))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return writer, writer.stdout.readline().strip()


def test_temp_names_carry_the_host_identity(monkeypatch):
    monkeypatch.setenv("RVMATTE_HOST_ID", "render-07")
    assert host_id() == "hrender07"
    monkeypatch.delenv("RVMATTE_HOST_ID")
    assert host_id().startswith("h") and len(host_id()) == 11


def test_another_hosts_temp_in_progress_survives_a_cleanup_and_its_frame_lands(tmp_path, monkeypatch):
    target = tmp_path / "a.0001.exr"
    writer, temp = start_writer(target, "hostB")
    try:
        assert "tmp-hhostB-" in temp and os.path.exists(temp)
        monkeypatch.setenv("RVMATTE_HOST_ID", "hostA")
        assert remove_temp_files([str(target)]) == []
        assert os.path.exists(temp)
    finally:
        writer.communicate("\n", timeout=30)
    assert writer.returncode == 0
    assert target.read_bytes() == b"frame data"


def test_another_hosts_dead_temp_is_kept_until_it_is_a_day_old(tmp_path, monkeypatch):
    target = tmp_path / "a.0001.exr"
    writer, temp = start_writer(target, "hostB")
    writer.kill()                      # its pid is gone here, but on host B it could be alive
    writer.wait()
    monkeypatch.setenv("RVMATTE_HOST_ID", "hostA")
    assert remove_temp_files([str(target)]) == []
    old = time.time() - FOREIGN_TEMP_AGE_S - 60
    os.utime(temp, (old, old))
    assert remove_temp_files([str(target)]) == [temp]


def test_a_dead_writer_of_this_host_is_cleaned_at_once(tmp_path, monkeypatch):
    target = tmp_path / "a.0001.exr"
    writer, temp = start_writer(target, "hostA")
    writer.kill()
    writer.wait()
    monkeypatch.setenv("RVMATTE_HOST_ID", "hostA")
    assert remove_temp_files([str(target)]) == [temp]
