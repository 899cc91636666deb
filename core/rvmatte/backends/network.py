"""The network behind another runtime, called exactly like the PyTorch model.

``BackendNetwork`` is what the session holds when ``--backend`` names ONNX Runtime,
OpenVINO or TensorRT: ``forward(src, r1, r2, r3, r4, downsample_ratio)`` returns ``fgr, pha, r1..r4``
like ``MattingNetwork`` (src ``[B,C,H,W]`` or ``[B,T,C,H,W]``, B = 1), so the recurrent
state is passed in and out as in PyTorch and the session needs no other path. Frames go
one at a time through a static-shape graph (one per frame size and ratio, exported once
and cached on disk, see ``cache``); a missing state is the zero tensor, as in PyTorch.

What the graph cannot do runs on the eager network it wraps: a ratio of exactly 1 (the
eager model skips the refiner there), several clips in one batch, and the written-out
forward the session uses for anamorphic plates and the segmentation pass (it reaches
``backbone``, ``decoder`` … directly, which are delegated to the eager network).
"""
from __future__ import annotations

import hashlib
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

from rvmatte.wrapped import WrappedNetwork

from rvmatte import __version__
from rvmatte.backends import cache, devices_of
from rvmatte.backends.static_export import EXPORT_VERSION, export_static_onnx, float32_copy


def weights_digest(model: nn.Module) -> str:
    """The checkpoint's sha256 where the loader recorded it, else a digest of the state_dict."""
    recorded = getattr(model, "weights_sha256", "")
    if recorded:
        return recorded
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return "state:" + digest.hexdigest()


class BackendNetwork(WrappedNetwork):
    """``runtime`` is a backend module (``NAME``, ``version()``, ``load(path, precision, threads)``).
    With ``on_failure`` given (``--backend auto``), a graph that fails to export or load is
    reported through it once and the run goes on with the eager network; without it the
    failure is raised."""

    def __init__(self, network: nn.Module, runtime, precision: str, threads: int,
                 on_failure: Optional[Callable[[str], None]] = None):
        super().__init__()
        self.network = network
        self._runtime = runtime
        self._precision = precision
        self._threads = threads
        self._on_failure = on_failure
        self._digest = weights_digest(network)
        self._runners: Dict[Tuple[int, int, float, str], object] = {}
        self._devices = devices_of(runtime)
        self._failed = False
        self.backend_name = runtime.NAME
        self._channels_last = getattr(runtime, "CHANNELS_LAST", False)    # the graph's src and fgr [1,H,W,3]
        self.backend_version = runtime.version()
        self.exports = 0                 # ONNX exports made by this object (0 when the cache held them)
        self.graph_frames = 0            # frames run through the backend's graph

    @property
    def backend_label(self) -> str:
        return f"{self.backend_name} {self.backend_version.split('-')[0]} {self._precision}"


    # -- the graph for one size ---------------------------------------------------------------
    def entry_fields(self, height: int, width: int, ratio: float) -> dict:
        net = self.network
        return {"weights": self._digest, "variant": getattr(net, "variant", ""),
                "refiner": getattr(net, "refiner_name", ""), "height": height, "width": width,
                "ratio": float(ratio), "precision": self._precision, "backend": self.backend_name,
                "backend_version": self.backend_version, "rvmatte": __version__, "torch": torch.__version__,
                "export": EXPORT_VERSION, "layout": "nhwc" if self._channels_last else "nchw"}

    def _runner(self, height: int, width: int, ratio: float, device: torch.device):
        key = (height, width, float(ratio), str(device))
        if key not in self._runners:
            self._runners[key] = self._build(height, width, ratio, device)
        return self._runners[key]

    def _build(self, height: int, width: int, ratio: float, device: torch.device):
        name = f"{self.backend_name}-{cache.entry_key(self.entry_fields(height, width, ratio))}.onnx"
        path = cache.lookup(name)
        if path is not None:
            try:
                return self._runtime.load(path, self._precision, self._threads, device=device)
            except Exception:            # a truncated or foreign file: rebuild it
                cache.discard(path)
        network = float32_copy(self.network)
        path = cache.store(name, lambda temp: export_static_onnx(network, temp, height, width, ratio,
                                                                 channels_last=self._channels_last))
        self.exports += 1
        return self._runtime.load(path, self._precision, self._threads, device=device)

    # -- the forward ----------------------------------------------------------------------------
    def forward(self, src, r1=None, r2=None, r3=None, r4=None, downsample_ratio: float = 1.0,
                segmentation_pass: bool = False):
        state = [r1, r2, r3, r4]
        if (self._failed or segmentation_pass or float(downsample_ratio) == 1.0
                or src.shape[0] != 1 or src.device.type not in self._devices):
            return self._eager(src, state, downsample_ratio, segmentation_pass)
        height, width = src.shape[-2:]
        try:
            runner = self._runner(int(height), int(width), float(downsample_ratio), src.device)
        except Exception as error:
            if self._on_failure is None:
                from rvmatte.errors import RvmatteError

                raise RvmatteError(f"--backend {self.backend_name}: cannot build the model for "
                                   f"{width}x{height} at ratio {downsample_ratio} ({error})") from None
            self._failed = True
            self._on_failure(f"--backend auto: {self.backend_name} failed ({error}); running torch")
            return self._eager(src, state, downsample_ratio, segmentation_pass)
        frames = src if src.ndim == 5 else src[:, None]
        if hasattr(runner, "run_tensors"):
            return self._run_tensors(runner, src, frames, state)
        arrays = [np.ascontiguousarray(r.float().cpu().numpy()) if r is not None else np.zeros(shape, np.float32)
                  for r, shape in zip(state, runner.state_shapes)]
        fgrs, phas = [], []
        for t in range(frames.shape[1]):
            image = np.ascontiguousarray(self._graph_layout(frames[0, t:t + 1]).float().numpy())
            fgr, pha, *arrays = runner.run(image, arrays)
            fgrs.append(fgr)
            phas.append(pha)
            self.graph_frames += 1
        fgr = self._torch_layout(torch.from_numpy(_joined(fgrs)))[None]
        pha = torch.from_numpy(_joined(phas))[None]
        if src.ndim == 4:
            fgr, pha = fgr[0], pha[0]
        return [fgr, pha, *(torch.from_numpy(a) for a in arrays)]

    def _run_tensors(self, runner, src, frames, state):
        """The frames through a runner that takes torch tensors where they are (no host copies)."""
        tensors = [r.float() if r is not None else torch.zeros(shape, device=src.device)
                   for r, shape in zip(state, runner.state_shapes)]
        fgrs, phas = [], []
        for t in range(frames.shape[1]):
            fgr, pha, *tensors = runner.run_tensors(self._graph_layout(frames[0, t:t + 1]), tensors)
            fgrs.append(fgr)
            phas.append(pha)
            self.graph_frames += 1
        fgr, pha = self._torch_layout(torch.cat(fgrs))[None], torch.cat(phas)[None]
        if src.ndim == 4:
            fgr, pha = fgr[0], pha[0]
        return [fgr, pha, *tensors]

    def _graph_layout(self, src):
        """One frame [1,3,H,W] in the graph's layout. The pipeline's plates are [H,W,3] arrays seen
        as [1,3,H,W] (rvmatte.transfer), so their channels-last view is the plate itself, no copy."""
        return src.permute(0, 2, 3, 1) if self._channels_last else src

    def _torch_layout(self, fgr):
        """The graph's [T,H,W,3] foreground as the [T,3,H,W] the model returns: a view, whose
        channels-last view (what the writers take) is the graph's contiguous array again."""
        return fgr.permute(0, 3, 1, 2) if self._channels_last else fgr

    def _eager(self, src, state, ratio, segmentation_pass):
        dtype = next(self.network.parameters()).dtype
        state = [r.to(dtype) if r is not None else None for r in state]
        return self.network(src, *state, downsample_ratio=ratio, segmentation_pass=segmentation_pass)


def _joined(arrays):
    """The frames' outputs [1,C,H,W] as one [T,C,H,W] array; one frame's as it is (no copy)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
