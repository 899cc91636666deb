"""Find, verify and load RVM checkpoints.

Resolution order: an explicit path → ``$RVMATTE_WEIGHTS`` → the user cache
(``$RVMATTE_CACHE`` or ``$XDG_CACHE_HOME/rvmatte`` or ``~/.cache/rvmatte``), where the
official release file is downloaded once and sha256-checked. Checkpoints are never
unpickled with arbitrary code: ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rvmatte.errors import RvmatteError


class WeightsError(RvmatteError):
    """Weights that cannot be found, downloaded or loaded."""


@dataclass(frozen=True)
class Release:
    filename: str
    url: str
    sha256: str


RELEASES = {
    "mobilenetv3": Release(
        "rvm_mobilenetv3.pth",
        "https://github.com/PeterL1n/RobustVideoMatting/releases/download/v1.0.0/rvm_mobilenetv3.pth",
        "3c7c1d92033f7c38d6577c481d13a195d7d80a159b960f4f3119ac7b534cf4f8"),
    "resnet50": Release(
        "rvm_resnet50.pth",
        "https://github.com/PeterL1n/RobustVideoMatting/releases/download/v1.0.0/rvm_resnet50.pth",
        "c191a807251164c073dce5fa408e7a816070d539b882b2a3150330a9fec112ce"),
}

# A key that only one variant's checkpoint has, to tell a wrong-variant file apart.
_VARIANT_MARKERS = {"mobilenetv3": "backbone.features.0.0.weight", "resnet50": "backbone.conv1.weight"}


def cache_dir() -> Path:
    if os.environ.get("RVMATTE_CACHE"):
        return Path(os.environ["RVMATTE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rvmatte"


def _release(variant: str) -> Release:
    try:
        return RELEASES[variant]
    except KeyError:
        raise WeightsError(f"unknown variant {variant!r}; expected one of {', '.join(RELEASES)}") from None


def sha256_of(path: os.PathLike | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(variant: str = "mobilenetv3", weights: os.PathLike | str | None = None, *,
            download: bool | None = None, progress: bool = True) -> Path:
    """Return the path of the checkpoint to use, downloading it into the cache if allowed.

    ``download=None`` means: allowed unless ``$RVMATTE_OFFLINE`` is set.
    """
    release = _release(variant)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsError(f"weights file not found: {path}")
        return path
    env = os.environ.get("RVMATTE_WEIGHTS")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise WeightsError(f"RVMATTE_WEIGHTS points to a missing file: {path}")
        return path
    cached = cache_dir() / release.filename
    if cached.is_file():
        if sha256_of(cached) != release.sha256:
            raise WeightsError(f"cached weights {cached} do not match the official sha256 "
                               f"(damaged download?): delete the file and run again")
        return cached
    if download is None:
        download = not os.environ.get("RVMATTE_OFFLINE")
    hint = (f"download {release.url} and put it at {cached}, "
            f"or pass --weights FILE, or set RVMATTE_WEIGHTS=FILE")
    if not download:
        raise WeightsError(f"no {variant} weights found (offline): {hint}")
    try:
        _download(release, cached, progress)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(f"could not download {variant} weights ({reason}): {hint}") from None
    return cached


def _download(release: Release, target: Path, progress: bool) -> None:
    """Download to a temporary file beside ``target``, check sha256, then rename."""
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{release.filename}.", suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(release.url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                      desc=release.filename) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
        if digest.hexdigest() != release.sha256:
            raise WeightsError(f"downloaded {release.url} but its sha256 {digest.hexdigest()} "
                               f"is not the published {release.sha256}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_state_dict(path: os.PathLike | str, variant: str, refiner: str = "deep_guided_filter") -> dict:
    """Read a checkpoint safely and shape it for ``MattingNetwork(variant, refiner)``."""
    import torch

    path = Path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise WeightsError(f"cannot read weights {path} ({exc.strerror or type(exc).__name__})") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        # Our own sentence: torch's text advises weights_only=False, the one thing never to do here.
        if isinstance(exc, pickle.UnpicklingError) and "unsupported global" in str(exc).lower():
            raise WeightsError(f"{path} holds more than tensors (Python objects, possibly code): "
                               "it is not loaded, since unpickling it could run that code") from None
        raise WeightsError(f"{path} is not a readable PyTorch checkpoint "
                           "(corrupt, truncated or not a PyTorch file)") from None
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(hasattr(v, "shape") for v in data.values()):
        raise WeightsError(f"{path} does not hold a state_dict of tensors")
    found = [name for name, key in _VARIANT_MARKERS.items() if key in data]
    if not found:
        raise WeightsError(f"{path} is not an RVM checkpoint (no MobileNetV3 or ResNet50 backbone keys)")
    if found[0] != variant:
        raise WeightsError(f"{path} holds {found[0]} weights, but the {variant} variant was asked for "
                           f"(use --variant {found[0]})")
    if refiner == "fast_guided_filter":
        data = {k: v for k, v in data.items() if not k.startswith("refiner.")}
    elif not any(k.startswith("refiner.") for k in data):
        raise WeightsError(f"{path} has no Deep Guided Filter weights: use --refiner fast_guided_filter")
    return data


def load_model(variant: str = "mobilenetv3", weights: os.PathLike | str | None = None, *,
               device: str = "auto", precision: str = "float32", refiner: str = "deep_guided_filter",
               download: bool | None = None, progress: bool = True):
    """The RVM network with its weights, in eval mode on ``device``; called like the original.

    The checkpoint's path and sha256 are kept on the module as ``weights_path`` and
    ``weights_sha256`` so outputs can record which weights made them.
    """
    import torch

    from rvmatte.device import resolve_device, resolve_dtype
    from rvmatte.model import MattingNetwork

    dev = resolve_device(device)
    dtype = resolve_dtype(precision)
    path = resolve(variant, weights, download=download, progress=progress)
    model = MattingNetwork(variant, refiner)
    state = load_state_dict(path, variant, refiner)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[1:2] or [str(exc)[:200]]
        raise WeightsError(f"{path} does not fit MattingNetwork({variant!r}, {refiner!r}): "
                           f"{detail[0].strip()[:240]}") from None
    model.weights_path = str(path)
    model.weights_sha256 = sha256_of(path)
    model.eval().requires_grad_(False)
    return model.to(device=dev, dtype=dtype)
