"""``rvmatte doctor``: each failure names what is wrong and how the artist fixes it."""
import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from rvmatte import doctor


def _args(**kw):
    base = dict(variant="mobilenetv3", weights=None, device="cpu", ocio_config=None, progress="tty")
    base.update(kw)
    return SimpleNamespace(**base)


def _run(**kw):
    lines = []
    code = doctor.cmd_doctor(_args(**kw), out=lines.append)
    return code, lines


def _by_name(checks):
    return {c.name: c for c in checks}


def test_everything_passes_with_good_weights(weights_path):
    code, lines = _run(weights=str(weights_path))
    assert code == 0
    assert lines[-1] == "rvmatte doctor: all checks passed"


def _with_damaged_pickle(source, target):
    """A copy of a torch checkpoint whose pickled index is cut short (the tensors' bytes intact)."""
    import zipfile

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith("data.pkl"):
                data = data[: len(data) // 2]
            zout.writestr(item, data)


def test_corrupt_weights_fail_with_a_fix(tmp_path, weights_path):
    bad = tmp_path / "rvm_mobilenetv3.pth"
    _with_damaged_pickle(weights_path, bad)
    check = _by_name(doctor.run_checks(weights=str(bad), device="cpu"))["weights"]
    assert not check.ok
    assert str(bad) in check.detail
    assert "download rvm_mobilenetv3.pth again" in check.fix


def test_truncated_weights_fail(tmp_path, weights_path):
    bad = tmp_path / "w.pth"
    bad.write_bytes(weights_path.read_bytes()[:100000])
    code, lines = _run(weights=str(bad))
    assert code == 1
    assert any(line.startswith("FAIL weights") for line in lines)


def test_missing_weights_file_says_where_to_choose_it(tmp_path):
    check = _by_name(doctor.run_checks(weights=str(tmp_path / "none.pth"), device="cpu"))["weights"]
    assert not check.ok and "choose the weights file" in check.fix


def test_missing_torch_says_install_engine(monkeypatch, weights_path):
    monkeypatch.setitem(sys.modules, "torch", None)      # `import torch` now raises ImportError
    checks = _by_name(doctor.run_checks(weights=str(weights_path)))
    assert not checks["torch"].ok
    assert "Install engine" in checks["torch"].fix
    assert "weights" not in checks and "device" not in checks   # nothing that needs torch is attempted


def test_missing_device_is_its_own_failure_and_weights_still_checked(weights_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    checks = _by_name(doctor.run_checks(weights=str(weights_path), device="cuda"))
    assert not checks["device"].ok and "Device: auto or cpu" in checks["device"].fix
    assert checks["weights"].ok


def test_unreadable_ocio_config_fails_with_a_fix(tmp_path, weights_path):
    config = tmp_path / "config.ocio"
    config.write_text("not: an ocio config\n")
    check = _by_name(doctor.run_checks(weights=str(weights_path), ocio_config=str(config)))["colour"]
    assert not check.ok and str(config) in check.detail and "OCIO config" in check.fix


def test_old_python_is_refused(monkeypatch):
    monkeypatch.setattr(doctor, "MIN_PYTHON", (99, 0))
    check = doctor.check_python()
    assert not check.ok and "Install engine" in check.fix


def test_json_progress_gives_one_event_per_check_and_exit_code(tmp_path, weights_path):
    proc = subprocess.run([sys.executable, "-m", "rvmatte", "doctor", "--weights", str(tmp_path / "x.pth"),
                           "--device", "cpu", "--progress", "json"], capture_output=True, text=True, timeout=120)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1
    assert [e["name"] for e in events[:-1]] == ["python", "torch", "device", "colour", "weights"]
    assert events[-1]["event"] == "done" and events[-1]["failed"] == ["weights"]
