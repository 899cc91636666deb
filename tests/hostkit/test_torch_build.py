"""Which torch build an engine install takes (rvmatte_hostkit.torch_build), on nvidia-smi outputs
written in the format each driver generation prints (tests/hostkit/nvidia_smi/)."""
import os
import stat

import pytest

from rvmatte_hostkit import torch_build
from rvmatte_hostkit.torch_build import INDEX, TORCH_VERSION, TorchChoiceError, choose_torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nvidia_smi")
PIN = "torch==" + TORCH_VERSION


def smi(name):
    with open(os.path.join(HERE, name + ".txt"), encoding="utf-8") as handle:
        return handle.read()


def test_a_cuda_12_8_driver_gets_the_cu128_build():
    build = choose_torch("Linux", "x86_64", smi("h100_driver_570_cuda_12_8"))
    assert (build.kind, build.requirement, build.index_url) == ("cuda", PIN, INDEX + "cu128")
    assert "NVIDIA H100 80GB HBM3" in build.reason and "driver 570.124.06" in build.reason


def test_a_cuda_12_4_driver_gets_the_oldest_12_build_by_minor_version_compatibility():
    build = choose_torch("Linux", "x86_64", smi("rtx4090_driver_550_cuda_12_4"))
    assert (build.kind, build.index_url) == ("cuda", INDEX + "cu126")


def test_a_cuda_13_driver_on_windows_gets_the_cu130_build():
    build = choose_torch("Windows", "AMD64", smi("rtx_pro_6000_windows_driver_581_cuda_13_0"))
    assert (build.kind, build.index_url) == ("cuda", INDEX + "cu130")


def test_a_driver_too_old_for_every_build_gets_cpu_and_says_update_the_driver():
    build = choose_torch("Linux", "x86_64", smi("tesla_t4_driver_470_cuda_11_4"))
    assert (build.kind, build.index_url) == ("cpu", INDEX + "cpu")
    assert "CUDA 11.4" in build.reason and "update the driver" in build.reason


@pytest.mark.parametrize("name", ["no_devices", "driver_not_loaded"])
def test_nvidia_smi_without_a_gpu_gets_cpu(name):
    build = choose_torch("Linux", "x86_64", smi(name))
    assert (build.kind, build.index_url) == ("cpu", INDEX + "cpu")
    assert "found no GPU" in build.reason


def test_a_missing_nvidia_smi_gets_cpu_and_says_so():
    build = choose_torch("Windows", "AMD64", None)
    assert (build.kind, build.index_url) == ("cpu", INDEX + "cpu")
    assert "not installed" in build.reason


def test_apple_silicon_gets_the_default_wheel_with_metal():
    build = choose_torch("Darwin", "arm64", None)
    assert (build.kind, build.requirement, build.index_url) == ("mps", PIN, "")


def test_an_intel_mac_gets_the_default_wheel_on_the_cpu():
    build = choose_torch("Darwin", "x86_64", None)
    assert (build.kind, build.index_url) == ("cpu", "")


def test_choosing_cpu_wins_over_a_gpu():
    build = choose_torch("Linux", "x86_64", smi("h100_driver_570_cuda_12_8"), choice="cpu")
    assert (build.kind, build.index_url) == ("cpu", INDEX + "cpu")


def test_choosing_cuda_without_a_driver_takes_the_newest_cuda_build():
    build = choose_torch("Linux", "aarch64", None, choice="cuda")
    assert (build.kind, build.index_url) == ("cuda", INDEX + torch_build.CUDA_BUILDS[0][2])


def test_choosing_cuda_with_a_too_old_driver_is_refused_with_the_reason():
    with pytest.raises(TorchChoiceError, match="no CUDA build fits: .*11.4"):
        choose_torch("Linux", "x86_64", smi("tesla_t4_driver_470_cuda_11_4"), choice="cuda")


def test_choosing_cuda_on_macos_is_refused():
    with pytest.raises(TorchChoiceError, match="no CUDA builds for macOS"):
        choose_torch("Darwin", "arm64", None, choice="cuda")


def test_an_unknown_choice_is_refused_naming_the_choices():
    with pytest.raises(TorchChoiceError, match="auto, cpu, cuda"):
        choose_torch("Linux", "x86_64", None, choice="rocm")


def test_the_driver_cuda_version_is_read_from_the_header():
    assert torch_build.driver_cuda(smi("rtx4090_driver_550_cuda_12_4")) == (12, 4)
    assert torch_build.driver_cuda(smi("no_devices")) is None
    assert torch_build.driver_cuda(None) is None


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the program")
def test_detect_runs_the_nvidia_smi_on_path(tmp_path, monkeypatch):
    program = tmp_path / "nvidia-smi"
    program.write_text("#!/bin/sh\necho 'Driver Version: 570.124.06     CUDA Version: 12.8'\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert torch_build.driver_cuda(torch_build.detect_nvidia_smi("Linux")) == (12, 8)


def test_detect_says_none_when_nvidia_smi_is_not_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert torch_build.detect_nvidia_smi("Linux") is None
