"""Frames between the host and the device, for the pipeline in ``rvmatte.engine``.

``for_device(device)`` gives the pipeline one object with three calls:

* ``upload(frames)``: a chunk of HxWx3 host frames → a [T,3,H,W] tensor on the device;
* ``download(alphas, foregrounds, seg)``: the streams' results on the device → a pending
  result whose ``result()`` is ``(alphas [T,H,W], foregrounds [T,H,W,3], seg [T,H,W] or None)``
  as float32 numpy arrays;
* ``pipeline(batches, launch)``: runs ``launch(batch)`` (upload + inference + download) for
  each batch and yields ``(batch, result)`` ``lag`` batches later, in order.

**CPU (and MPS): ``PassThrough``.** ``lag`` 0, no buffers, no copies: the chunk is stacked
once and handed to the network as a view, the results are views of the network's own
tensors — exactly what the pipeline did before this module.

**CUDA: ``Staged``.** A chunk is stacked straight into a pinned host buffer and copied to the
device on an upload stream (``non_blocking``); the compute stream waits for that copy's event
only. The results are made contiguous on the compute stream, copied into pinned host buffers
on a download stream once the compute stream's event says they are ready, and handed out only
after the download's event has completed. With ``lag`` 1 the pipeline launches chunk N before
it waits for chunk N-1's download, so chunk N+1's upload (queued as soon as it is read) and
chunk N-1's download overlap chunk N's inference, and the host work on chunk N-1 (checks,
handing frames to the writers) happens while the GPU is busy.

**Host buffers** (``HostBuffers``) are reused, never while in use: a buffer is taken again
only when the copy that used it has finished *and* no numpy view of it is alive anywhere
(writer threads encode from those views for as long as they need). A chunk of another shape
(the last, shorter chunk of a shot, another stream) gets buffers of its own shape; the free
buffers of the old shape are dropped.

``Staged`` runs on the CPU too (plain buffers, no streams, no events), which is how its buffer
logic and ordering are tested without a GPU; the pipeline never picks it there.
"""
from __future__ import annotations

import collections
import contextlib
import sys
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

Results = Tuple[List[np.ndarray], List[np.ndarray], Optional[np.ndarray]]


def for_device(device: torch.device, pinned: bool = True):
    """The transfer the pipeline uses on ``device``: ``Staged`` on CUDA, else ``PassThrough``."""
    if device.type == "cuda":
        return Staged(device, pinned=pinned)
    return PassThrough()


class _Ready:
    def __init__(self, results: Results):
        self._results = results

    def result(self) -> Results:
        return self._results


class _Transfer:
    lag = 0

    def pipeline(self, batches: Iterable, launch: Callable) -> Iterator[tuple]:
        """``(batch, launch(batch).result())`` for every batch, in order; each batch's result is
        waited for only after the next ``lag`` batches have been launched."""
        waiting: collections.deque = collections.deque()
        for batch in batches:
            waiting.append((batch, launch(batch)))
            if len(waiting) > self.lag:
                done, pending = waiting.popleft()
                yield done, pending.result()
        while waiting:
            done, pending = waiting.popleft()
            yield done, pending.result()


class PassThrough(_Transfer):
    """The host is the device (or the copies are torch's own, as on MPS): nothing added."""

    lag = 0

    def upload(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """[T,3,H,W] views of the [H,W,3] frames; a single frame is not copied (the network
        never writes its input; a 1080p frame's copy was 5 ms on the network's thread)."""
        batch = frames[0][None] if len(frames) == 1 else np.stack(frames)
        return torch.from_numpy(batch).permute(0, 3, 1, 2)

    def download(self, alphas: Sequence[torch.Tensor], foregrounds: Sequence[torch.Tensor],
                 seg: Optional[torch.Tensor] = None) -> _Ready:
        return _Ready(([a[:, 0].cpu().numpy() for a in alphas],
                       [f.permute(0, 2, 3, 1).cpu().numpy() for f in foregrounds],
                       None if seg is None else seg[:, 0].cpu().numpy()))


class _Slot:
    __slots__ = ("tensor", "array", "ready")

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.array = tensor.numpy()         # every view handed out derives from this one array
        self.ready: Optional[Callable[[], bool]] = None

    def free(self) -> bool:
        # Only the slot holds ``array`` (+1 for getrefcount's argument): no view of it is alive.
        if sys.getrefcount(self.array) > 2:
            return False
        return self.ready is None or self.ready()


class HostBuffers:
    """Host buffers of one shape, reused once their copy has finished and nothing holds them
    (see the module's docstring). ``allocate(shape, dtype)`` makes a new one (pinned on CUDA)."""

    def __init__(self, allocate: Callable[[tuple, torch.dtype], torch.Tensor], keep: int = 16):
        self._allocate = allocate
        self._keep = keep
        self._key: Optional[tuple] = None
        self._slots: List[_Slot] = []
        self.allocations = 0

    def take(self, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> np.ndarray:
        """A free buffer of ``shape`` as a numpy array (a new one when none is free); it stays
        taken while the array or any view of it is alive, and until ``fence``'s event completes."""
        key = (tuple(shape), dtype)
        if key != self._key:                      # another size: the old buffers go when released
            self._key, self._slots = key, []
        for slot in self._slots:
            if slot.free():
                slot.ready = None
                return slot.array
        slot = _Slot(self._allocate(tuple(shape), dtype))
        self.allocations += 1
        if len(self._slots) < self._keep:
            self._slots.append(slot)
        return slot.array

    def fence(self, array: np.ndarray, ready: Optional[Callable[[], bool]]) -> None:
        """The buffer behind ``array`` is in a copy that is done when ``ready()`` is true."""
        for slot in self._slots:
            if slot.array is array:
                slot.ready = ready
                return

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """The tensor of a buffer taken from this pool (same memory)."""
        for slot in self._slots:
            if slot.array is array:
                return slot.tensor
        return torch.from_numpy(array)            # a buffer past ``keep``: not pooled


class _Pending:
    def __init__(self, event, results: Results):
        self._event = event
        self._results = results

    def result(self) -> Results:
        if self._event is not None:
            self._event.synchronize()
        results, self._results = self._results, None
        return results


class Staged(_Transfer):
    """Pinned host buffers and separate copy streams (CUDA); plain buffers and no streams on
    the CPU, where only the tests use it."""

    lag = 1

    def __init__(self, device: torch.device, pinned: bool = True):
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        pin = pinned and cuda

        def allocate(shape, dtype):
            return torch.empty(shape, dtype=dtype, pin_memory=pin)

        self._pools: dict = collections.defaultdict(lambda: HostBuffers(allocate))
        if cuda:
            self._compute = torch.cuda.current_stream(self.device)
            self._upload = torch.cuda.Stream(self.device)
            self._download = torch.cuda.Stream(self.device)
        else:
            self._compute = self._upload = self._download = None

    def pool(self, role: str) -> HostBuffers:
        return self._pools[role]

    def _on(self, stream):
        return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()

    def _event(self, stream):
        if stream is None:
            return None
        event = torch.cuda.Event()
        event.record(stream)
        return event

    def upload(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        pool = self.pool("src")
        host = pool.take((len(frames),) + tuple(frames[0].shape), torch.from_numpy(frames[0][:0]).dtype)
        np.stack(frames, out=host)
        source = pool.tensor(host)
        with self._on(self._upload):
            on_device = torch.empty(source.shape, dtype=source.dtype, device=self.device)
            on_device.copy_(source, non_blocking=True)
            copied = self._event(self._upload)
        pool.fence(host, None if copied is None else copied.query)
        if copied is not None:
            self._compute.wait_event(copied)
            on_device.record_stream(self._compute)
        return on_device.permute(0, 3, 1, 2)

    def download(self, alphas: Sequence[torch.Tensor], foregrounds: Sequence[torch.Tensor],
                 seg: Optional[torch.Tensor] = None) -> _Pending:
        items = [(f"alpha{i}", a[:, 0]) for i, a in enumerate(alphas)]
        items += [(f"foreground{i}", f.permute(0, 2, 3, 1)) for i, f in enumerate(foregrounds)]
        if seg is not None:
            items.append(("seg", seg[:, 0]))
        items = [(role, t.float().contiguous()) for role, t in items]      # on the compute stream
        computed = self._event(self._compute)
        hosts = []
        with self._on(self._download):
            if computed is not None:
                self._download.wait_event(computed)
            for role, on_device in items:
                pool = self.pool(role)
                host = pool.take(on_device.shape, torch.float32)
                pool.tensor(host).copy_(on_device, non_blocking=True)
                if self._download is not None:
                    on_device.record_stream(self._download)
                hosts.append((pool, host))
            copied = self._event(self._download)
        for pool, host in hosts:
            pool.fence(host, None if copied is None else copied.query)
        arrays = [host for _, host in hosts]
        count = len(alphas)
        results = (arrays[:count], arrays[count:2 * count], arrays[2 * count] if seg is not None else None)
        return _Pending(copied, results)
