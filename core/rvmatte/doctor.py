"""``rvmatte doctor``: is this environment able to matte a shot?

Hosts run it for their Check button, so each failure carries a fix in the artist's words
(what to click or choose), not a traceback. It checks what a Generate needs, in the order
a Generate needs it: the interpreter, torch, the device, OpenImageIO with its OCIO config,
and that the weights really load and run one small frame (a file can exist, hash and even
unpickle, and still not be a network).
"""
from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from typing import Callable, List, Optional

MIN_PYTHON = (3, 10)

FIX_ENGINE = ("use Install engine in the add-on/node preferences, or choose the Python of an environment "
              "where rvmatte is installed")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.name:<12} {self.detail}"
        return text if self.ok else f"{text}\n     fix: {self.fix}"


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", False, f"{sys.executable} is Python {version}; rvmatte needs "
                     f"{'.'.join(map(str, MIN_PYTHON))} or newer", FIX_ENGINE)
    return Check("python", True, f"{version} ({sys.executable})")


def check_torch() -> Check:
    try:
        import torch
    except ImportError as exc:
        return Check("torch", False, f"PyTorch is not installed in {sys.executable} ({exc.__class__.__name__})",
                     f"{FIX_ENGINE}; a TD can run: {sys.executable} -m pip install torch")
    cuda = torch.version.cuda or "none"
    return Check("torch", True, f"{torch.__version__} (CUDA build: {cuda})")


def check_device(spec: str) -> Check:
    from rvmatte.device import DeviceError, device_name, resolve_device

    try:
        device = resolve_device(spec)
    except DeviceError as exc:
        return Check("device", False, str(exc),
                     "choose Device: auto or cpu, or install the PyTorch build for your GPU (Install engine "
                     "picks CUDA on NVIDIA machines)")
    return Check("device", True, device_name(device))


def check_colour(config: Optional[str]) -> Check:
    try:
        import OpenImageIO  # noqa: F401
    except ImportError:
        return Check("colour", False, f"OpenImageIO is not installed in {sys.executable}", FIX_ENGINE)
    from rvmatte.errors import RvmatteError
    from rvmatte.io.colour import config_name, load_config, resolve_colorspace

    try:
        name = config_name(config)
        load_config(name)
        spaces = [resolve_colorspace(s, config) for s in ("sRGB", "Linear Rec.709 (sRGB)")]
    except (RvmatteError, OSError, RuntimeError) as exc:
        return Check("colour", False, f"OCIO config {config or '$OCIO / ocio://default'}: {exc}",
                     "point the OCIO config preference (or $OCIO) at a readable config.ocio, or leave it empty "
                     "for the built-in one")
    return Check("colour", True, f"OCIO {name}: {', '.join(spaces)}")


def check_weights(variant: str, weights: Optional[str], device: str) -> Check:
    from rvmatte.errors import RvmatteError

    try:
        import torch

        from rvmatte.weights import load_model, resolve
    except ImportError as exc:
        return Check("weights", False, f"cannot check without torch ({exc})", FIX_ENGINE)
    try:
        path = resolve(variant, weights, download=False)
    except RvmatteError as exc:
        return Check("weights", False, str(exc),
                     "choose the weights file (rvm_mobilenetv3.pth) in the preferences, or let Install engine "
                     "fetch it")
    try:
        model = load_model(variant, path, device="cpu" if device == "auto" else device)
        param = next(model.parameters())
        with torch.inference_mode():
            src = torch.rand(1, 3, 64, 64, device=param.device, dtype=param.dtype)
            fgr, pha, *_ = model(src, None, None, None, None, downsample_ratio=0.5)
        if not bool(torch.isfinite(pha).all() and torch.isfinite(fgr).all()):
            raise ValueError("the network's output is not finite (NaN/inf)")
    except Exception as exc:  # noqa: BLE001 - any failure here means Generate would fail the same way
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Check("weights", False, f"{path} does not load or run: {text[:240]}",
                     "the file is damaged or not RVM weights: download rvm_mobilenetv3.pth again and choose it "
                     "in the preferences")
    return Check("weights", True, f"{path} loads and runs (sha256 {getattr(model, 'weights_sha256', '')[:12]})")


def run_checks(variant: str = "mobilenetv3", weights: Optional[str] = None, device: str = "auto",
               ocio_config: Optional[str] = None) -> List[Check]:
    """Every check, in order; checks that need torch are skipped (reported failed) without it."""
    checks = [check_python(), check_torch()]
    have_torch = checks[-1].ok
    if have_torch:
        checks.append(check_device(device))
    checks.append(check_colour(ocio_config))
    if have_torch:
        usable = device if checks[2].ok else "cpu"      # a missing GPU is its own failure, not the weights'
        checks.append(check_weights(variant, weights, usable))
    return checks


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("doctor", help="check that this environment can matte (hosts' Check button)",
                              description="Check the interpreter, torch, device, OCIO and that the weights "
                                          "load and run. Exit code 0 only when every check passes.")
    p.add_argument("--weights", help="checkpoint file (else $RVMATTE_WEIGHTS or the user cache; no download)")
    p.add_argument("--variant", default="mobilenetv3", choices=("mobilenetv3", "resnet50"))
    p.add_argument("--device", default="auto")
    p.add_argument("--ocio-config")
    p.add_argument("--progress", choices=("tty", "json"), default="tty",
                   help="json: one JSON object per check on stdout, then a done event")
    p.add_argument("--debug", action="store_true")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args, out: Callable[[str], None] = print) -> int:
    checks = run_checks(args.variant, args.weights, args.device, args.ocio_config)
    passed = all(c.ok for c in checks)
    if args.progress == "json":
        for c in checks:
            out(json.dumps({"event": "check", "name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix}))
        out(json.dumps({"event": "done", "ok": passed, "failed": [c.name for c in checks if not c.ok],
                        "platform": platform.platform()}))
    else:
        for c in checks:
            out(c.line())
        out("rvmatte doctor: all checks passed" if passed else
            f"rvmatte doctor: {sum(not c.ok for c in checks)} check(s) failed")
    return 0 if passed else 1
