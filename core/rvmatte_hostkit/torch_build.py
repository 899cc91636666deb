"""Which PyTorch build an engine install takes on this machine: a pure function of facts.

``choose_torch(system, machine, nvidia_smi)`` turns the OS (``platform.system()``), the
architecture (``platform.machine()``) and the text ``nvidia-smi`` printed (None when the
command is missing) into a pip requirement and the index it comes from:

- NVIDIA driver present: the newest CUDA build the driver runs (the "CUDA Version" in its
  header, or a newer minor release of the same major: CUDA's minor-version compatibility),
  from PyTorch's own index for that build;
- macOS on Apple silicon: the default wheel, which carries Metal (MPS);
- otherwise: the CPU build (PyTorch's CPU index on Linux and Windows, where the default
  wheel is a multi-GB CUDA build or no build at all).

``choice`` overrides: ``cpu`` or ``cuda`` (the newest CUDA build when the driver cannot be
asked). Only ``detect_nvidia_smi()`` touches the machine.
"""

import os
import re
import shutil
import subprocess
from collections import namedtuple

TORCH_VERSION = "2.13.0"
INDEX = "https://download.pytorch.org/whl/"
# CUDA builds PyTorch publishes for TORCH_VERSION, newest first: (CUDA major, minor, index tag).
CUDA_BUILDS = ((13, 0, "cu130"), (12, 8, "cu128"), (12, 6, "cu126"))
CHOICES = ("auto", "cpu", "cuda")

TorchBuild = namedtuple("TorchBuild", "kind requirement index_url reason")
TorchBuild.__doc__ = """kind: cuda, mps or cpu; requirement: what pip installs (``torch==2.13.0``);
index_url: the index to take it from ("" = pip's own configuration); reason: one line for the artist."""

_CUDA_VERSION = re.compile(r"CUDA Version\s*:\s*(\d+)\.(\d+)")
_DRIVER_VERSION = re.compile(r"Driver Version\s*:\s*([0-9.]+)")
_GPU_LINE = re.compile(r"^\|\s+\d+\s+(NVIDIA [^|]*?|Tesla [^|]*?|Quadro [^|]*?)\s{2,}", re.MULTILINE)


class TorchChoiceError(ValueError):
    """The override asks for a build this machine cannot have; the message says why."""


def driver_cuda(nvidia_smi):
    """(major, minor) of the CUDA version the driver supports, from ``nvidia-smi``'s header; None when the
    output has none (no driver, no GPU, the command missing or failing)."""
    if not nvidia_smi:
        return None
    found = _CUDA_VERSION.search(nvidia_smi)
    return (int(found.group(1)), int(found.group(2))) if found else None


def describe_gpu(nvidia_smi):
    """The first GPU's name and the driver version, as ``nvidia-smi`` printed them ("" when absent)."""
    if not nvidia_smi:
        return ""
    gpu = _GPU_LINE.search(nvidia_smi)
    driver = _DRIVER_VERSION.search(nvidia_smi)
    parts = [gpu.group(1).strip()] if gpu else []
    if driver:
        parts.append("driver %s" % driver.group(1))
    return ", ".join(parts)


def _arch(machine):
    machine = (machine or "").lower()
    if machine in ("arm64", "aarch64", "armv8", "armv8l"):
        return "arm64"
    if machine in ("x86_64", "amd64", "x64", "em64t"):
        return "x86_64"
    return machine


def _cuda_build(supported):
    """The newest build not newer than ``supported`` (None: the newest of all), else the oldest build of the
    driver's own CUDA major (CUDA's minor-version compatibility: a 12.4 driver runs 12.6 builds); None when
    the driver is too old for every build."""
    if supported is None:
        return CUDA_BUILDS[0]
    for major, minor, tag in CUDA_BUILDS:
        if (major, minor) <= tuple(supported):
            return major, minor, tag
    same_major = [b for b in CUDA_BUILDS if b[0] == supported[0]]
    return same_major[-1] if same_major else None


def choose_torch(system, machine, nvidia_smi, choice="auto", version=TORCH_VERSION):
    """The TorchBuild for this OS, architecture and ``nvidia-smi`` output (None: the command is missing)."""
    if choice not in CHOICES:
        raise TorchChoiceError("unknown torch choice %r: choose one of %s" % (choice, ", ".join(CHOICES)))
    system = (system or "").lower()
    arch = _arch(machine)
    requirement = "torch==%s" % version
    if system == "darwin":
        if choice == "cuda":
            raise TorchChoiceError("PyTorch has no CUDA builds for macOS: choose auto or cpu")
        if arch == "arm64" and choice == "auto":
            return TorchBuild("mps", requirement, "", "macOS on Apple silicon: the default build, with Metal (MPS)")
        return TorchBuild("cpu", requirement, "", "macOS: the default build on the CPU")
    cpu = TorchBuild("cpu", requirement, INDEX + "cpu", "")
    if choice == "cpu":
        return cpu._replace(reason="the CPU build, as chosen")
    supported = driver_cuda(nvidia_smi)
    gpu = describe_gpu(nvidia_smi)
    if choice == "cuda" and supported is None:
        major, minor, tag = CUDA_BUILDS[0]
        return TorchBuild("cuda", requirement, INDEX + tag,
                          "CUDA %d.%d build, as chosen (no NVIDIA driver answered here)" % (major, minor))
    if supported is None:
        why = "no NVIDIA GPU found (nvidia-smi %s)" % ("is not installed" if nvidia_smi is None else "found no GPU")
        return cpu._replace(reason="the CPU build: %s" % why)
    build = _cuda_build(supported)
    if build is None:
        lowest = CUDA_BUILDS[-1]
        text = ("the CPU build: the NVIDIA driver (%s) supports CUDA %d.%d, older than PyTorch %s's oldest CUDA "
                "build (%d.%d); update the driver and install again for the GPU"
                % (gpu or "unknown", supported[0], supported[1], version, lowest[0], lowest[1]))
        if choice == "cuda":
            raise TorchChoiceError(text.replace("the CPU build: ", "no CUDA build fits: "))
        return cpu._replace(reason=text)
    major, minor, tag = build
    return TorchBuild("cuda", requirement, INDEX + tag,
                      "CUDA %d.%d build for %s (the driver supports CUDA %d.%d)"
                      % (major, minor, gpu or "the NVIDIA GPU", supported[0], supported[1]))


def nvidia_smi_command(system, environ=None):
    """Where ``nvidia-smi`` is: PATH, then where NVIDIA's Windows driver puts it; None when absent."""
    found = shutil.which("nvidia-smi", path=(environ or os.environ).get("PATH"))
    if found or (system or "").lower() != "windows":
        return found
    root = (environ or os.environ).get("SystemRoot", r"C:\Windows")
    for candidate in (os.path.join(root, "System32", "nvidia-smi.exe"),
                      r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe"):
        if os.path.isfile(candidate):
            return candidate
    return None


def detect_nvidia_smi(system, timeout=15.0):
    """What ``nvidia-smi`` prints here (its error text when it fails); None when it is not installed."""
    program = nvidia_smi_command(system)
    if program is None:
        return None
    try:
        done = subprocess.run([program], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, universal_newlines=True, errors="replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "nvidia-smi failed: %s" % exc
    return done.stdout
