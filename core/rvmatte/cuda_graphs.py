"""The steady-state forward replayed from a captured CUDA graph (``rvmatte run --cuda-graphs``).

A shot's shapes are fixed, so once the recurrent state exists every forward launches the same
few hundred kernels with the same sizes; at 1080p / ratio 0.25 in float16 the GPU finishes
them faster than Python can launch them one by one. ``CudaGraphNetwork`` captures that forward
once (on static input and state buffers) and replays it: one launch per chunk.

Which calls are replayed: only those that carry a state (the first frame of a shot and of every
cut runs eagerly), on a CUDA tensor, without the segmentation head, and only for a call shape
seen twice in a row (so the last, shorter chunk of a shot runs eagerly instead of paying a
capture). A new shape (another shot size, ratio or chunk length seen twice) replaces the graph.
The outputs are copied out of the graph's static buffers before they are returned, so streams
sharing the network (``--ensemble mirror``) and the lagged downloads of ``rvmatte.transfer``
never read a buffer the next replay overwrites. Capturing costs two warm-up forwards and
about one forward's activations in a private memory pool (on top of the VRAM budget checked
before the shot). Anywhere else the wrapped network runs as it is.

Attributes the pipeline reads (``variant``, ``weights_sha256``, the blocks used by the
written-out forward) come from the eager network.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rvmatte.wrapped import WrappedNetwork


class CudaGraphNetwork(WrappedNetwork):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network
        self._graph = None
        self._key: Optional[tuple] = None        # the captured call's shapes, dtypes and ratio
        self._last: Optional[tuple] = None       # the previous replayable call's
        self._static = None                      # (src, state buffers, outputs)
        self.captures = 0
        self.replays = 0


    @staticmethod
    def call_key(src, state, ratio) -> tuple:
        return (tuple(src.shape), src.dtype, str(src.device), float(ratio),
                tuple((tuple(r.shape), r.dtype) for r in state))

    def forward(self, src, r1=None, r2=None, r3=None, r4=None, downsample_ratio: float = 1.0,
                segmentation_pass: bool = False):
        state = (r1, r2, r3, r4)
        if segmentation_pass or src.device.type != "cuda" or any(r is None for r in state):
            return self.network(src, *state, downsample_ratio=downsample_ratio, segmentation_pass=segmentation_pass)
        key = self.call_key(src, state, downsample_ratio)
        if key != self._key:
            if key != self._last:
                self._last = key
                return self.network(src, *state, downsample_ratio=downsample_ratio)
            self._capture(src, state, downsample_ratio, key)
        static_src, static_state, outputs = self._static
        static_src.copy_(src)
        for buffer, value in zip(static_state, state):
            buffer.copy_(value)
        self._graph.replay()
        self.replays += 1
        return [o.clone() for o in outputs]

    def _capture(self, src, state, ratio: float, key: tuple) -> None:
        self._graph = self._static = None            # the old graph's pool goes first
        device = src.device
        static_src = src.clone()
        static_state = [r.clone() for r in state]
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):                # cuDNN's autotuning and the allocator, off the graph
            for _ in range(2):
                self.network(static_src, *static_state, downsample_ratio=ratio)
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = self.network(static_src, *static_state, downsample_ratio=ratio)
        self._graph, self._static, self._key = graph, (static_src, static_state, list(outputs)), key
        self.captures += 1
