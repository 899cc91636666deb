"""Stream ensembles: the same network asked several times about each frame, each stream with
its own recurrent state, the answers combined per pixel (``rvmatte run --ensemble``).

Streams (docs/quality.md has the measurements):

* ``mirror``: the plate flipped left to right, the results flipped back;
* ``ratio:R``: the plate at another downsample ratio ``R``;
* ``reverse``: the shot played backwards.

The forward streams (the primary one, ``mirror``, ``ratio:R``) see the frames as the run
reads them. The reverse stream runs over **blocks** of ``REVERSE_BLOCK`` frames aligned to
absolute frame numbers (``frame // REVERSE_BLOCK``): each block is run from ``REVERSE_POSTROLL``
frames after its end (fewer at the end of the shot or before a cut) down to its first frame,
with a fresh state. The frames of a block and its postroll are read once, in order, and held
in a window (``ReverseWindow``), so the run stays streaming and memory-bounded; movies, which
decode only forwards, are read like sequences. A block's results depend only on the frames
from its start to its postroll's end, so a farm chunk that reads its postroll computes exactly
the reverse results of the whole-shot run.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

REVERSE_BLOCK = 16        # frames per reverse block (what the window holds, plus the postroll)
REVERSE_POSTROLL = 16     # frames after a block that warm the reverse state


@dataclass(frozen=True)
class Stream:
    kind: str                       # "mirror", "reverse" or "ratio"
    ratio: Optional[float] = None   # for "ratio"

    @property
    def name(self) -> str:
        return f"ratio:{self.ratio:g}" if self.kind == "ratio" else self.kind


def parse_ensemble(text: str) -> Tuple[Stream, ...]:
    """``"mirror,reverse,ratio:0.375"`` → streams in a canonical order (the primary stream is
    implied). Raises ValueError with a one-line message naming the bad item."""
    streams: Dict[str, Stream] = {}
    items = [item.strip() for item in str(text).split(",")]
    if not any(items):
        raise ValueError("expected streams such as mirror,reverse,ratio:0.375")
    for item in items:
        lowered = item.lower()
        if lowered in ("mirror", "reverse"):
            stream = Stream(lowered)
        elif lowered.startswith("ratio:"):
            value = lowered[len("ratio:"):]
            try:
                ratio = float(value)
            except ValueError:
                raise ValueError(f"{item!r}: expected ratio:R with R a number in (0, 1]") from None
            if not 0 < ratio <= 1:
                raise ValueError(f"{item!r}: the ratio must be in (0, 1]")
            stream = Stream("ratio", ratio)
        else:
            raise ValueError(f"unknown stream {item!r} (expected mirror, reverse or ratio:R)")
        if stream.name in streams:
            raise ValueError(f"stream {stream.name} is given twice")
        streams[stream.name] = stream
    return tuple(sorted(streams.values(), key=lambda s: (s.kind, s.ratio or 0.0)))


def stream_names(streams: Iterable[Stream]) -> List[str]:
    return [s.name for s in streams]


def has_reverse(streams: Iterable[Stream]) -> bool:
    return any(s.kind == "reverse" for s in streams)


def combine(alphas: Sequence[np.ndarray], foregrounds: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The per-pixel mean of the streams' alphas and of their (straight) foreground colours."""
    if len(alphas) == 1:
        return alphas[0], foregrounds[0]
    pha = np.mean(np.stack(alphas), axis=0, dtype=np.float32)
    fgr = np.mean(np.stack(foregrounds), axis=0, dtype=np.float32)
    return pha, fgr


class ForwardStreams:
    """The primary stream and the forward extra streams (``mirror``, ``ratio:R``), each a
    Session of its own (its own recurrent state) over the same model."""

    def __init__(self, model, streams: Sequence[Stream], *, downsample_ratio, pixel_aspect: float = 1.0):
        from rvmatte.session import Session

        self.primary = Session(model, downsample_ratio=downsample_ratio, pixel_aspect=pixel_aspect)
        self.extras = [(s, Session(model, downsample_ratio=s.ratio if s.kind == "ratio" else downsample_ratio,
                                   pixel_aspect=pixel_aspect))
                       for s in streams if s.kind in ("mirror", "ratio")]

    def reset(self) -> None:
        self.primary.reset()
        for _, session in self.extras:
            session.reset()

    def infer(self, src, segmentation: bool = False):
        """src [T,3,H,W] → (alphas, foregrounds, seg): one [T,H,W] / [T,H,W,3] numpy array per
        stream (primary first), and the primary stream's segmentation [T,H,W] (or None)."""
        alphas, fgrs, seg = self.infer_tensors(src, segmentation)
        return [_alpha(a) for a in alphas], [_colour(f) for f in fgrs], None if seg is None else seg[:, 0].cpu().numpy()

    def infer_tensors(self, src, segmentation: bool = False):
        """Like ``infer``, with the results left where the network made them: one [T,1,H,W] alpha
        and [T,3,H,W] foreground tensor per stream, and [T,1,H,W] segmentation (or None); the
        pipeline's transfer (rvmatte.transfer) brings them to the host."""
        if segmentation:
            pha, fgr, seg = self.primary.infer_with_segmentation(src)
        else:
            (pha, fgr), seg = self.primary.infer(src), None
        alphas, fgrs = [pha], [fgr]
        for stream, session in self.extras:
            if stream.kind == "mirror":
                pha, fgr = session.infer(src.flip(-1))
                pha, fgr = pha.flip(-1), fgr.flip(-1)
            else:
                pha, fgr = session.infer(src)
            alphas.append(pha)
            fgrs.append(fgr)
        return alphas, fgrs, seg


def _alpha(pha) -> np.ndarray:
    return pha[:, 0].cpu().numpy()


def _colour(fgr) -> np.ndarray:
    return fgr.permute(0, 2, 3, 1).cpu().numpy()


def block_end(frame: int, reach: int) -> int:
    """The frame a reverse run for ``frame``'s block starts at: the block's last frame plus the
    postroll, no further than ``reach`` (the last frame of ``frame``'s shot)."""
    last = (frame // REVERSE_BLOCK + 1) * REVERSE_BLOCK - 1
    return min(last + REVERSE_POSTROLL, reach)


class ReverseWindow:
    """Adds the reverse stream's results to the forward items of a run.

    ``items`` are ``(step, plate, model_in)`` in schedule order; ``reach(frame)`` is the last
    frame of that frame's shot (before the next cut or hole). Yields ``(step, plate, model_in,
    reverse)`` where ``reverse`` is ``(alpha, foreground)`` for written steps and None
    otherwise; postroll steps (read only for the reverse stream) are not yielded. At most a
    block, its postroll and the prefetched items are held."""

    def __init__(self, model, *, downsample_ratio, pixel_aspect: float, reach: Callable[[int], int], chunk: int,
                 check: Optional[Callable] = None):
        from rvmatte.session import Session

        self.session = Session(model, downsample_ratio=downsample_ratio, pixel_aspect=pixel_aspect)
        self.reach = reach
        self.chunk = max(1, chunk)
        self.check = check

    def __call__(self, items: Iterable) -> Iterator[tuple]:
        pending: collections.deque = collections.deque()
        inputs: Dict[int, np.ndarray] = {}
        results: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
        for item in items:
            step = item[0]
            if (step.write and not step.warmup) or getattr(step, "postroll", False):
                inputs[step.frame] = item[2]
            pending.append(item)
            yield from self._flush(pending, inputs, results, final=False)
        yield from self._flush(pending, inputs, results, final=True)

    def _flush(self, pending, inputs, results, final: bool):
        while pending:
            step, plate, model_in = pending[0]
            if getattr(step, "postroll", False):
                pending.popleft()
                continue
            if not step.write or step.warmup:
                pending.popleft()
                yield step, plate, model_in, None
                continue
            if step.frame not in results:
                end = block_end(step.frame, self.reach(step.frame))
                if end not in inputs:
                    if not final:
                        return
                    end = step.frame
                    while end + 1 in inputs and end + 1 <= block_end(step.frame, self.reach(step.frame)):
                        end += 1
                self._run_block(step.frame, end, inputs, results)
            pending.popleft()
            for frame in [f for f in inputs if f < step.frame]:
                del inputs[frame]
            yield step, plate, model_in, results.pop(step.frame)

    def _run_block(self, first: int, start: int, inputs, results) -> None:
        """Run the reverse stream from ``start`` down to ``first``, keeping the results of the
        frames of ``first``'s block."""
        import torch

        keep_last = (first // REVERSE_BLOCK + 1) * REVERSE_BLOCK - 1
        frames = list(range(start, first - 1, -1))
        self.session.reset()
        for offset in range(0, len(frames), self.chunk):
            batch = frames[offset:offset + self.chunk]
            src = torch.from_numpy(np.stack([inputs[f] for f in batch])).permute(0, 3, 1, 2)
            pha, fgr = self.session.infer(src)
            pha, fgr = _alpha(pha), _colour(fgr)
            if self.check is not None:
                self.check(batch, pha, fgr)
            for i, frame in enumerate(batch):
                if frame <= keep_last:
                    results[frame] = (pha[i], fgr[i])


def postroll_frames(last_requested: int, reach: int) -> List[int]:
    """Frames after the last requested one that the reverse stream reads (not written)."""
    return list(range(last_requested + 1, block_end(last_requested, reach) + 1))


def max_postroll() -> int:
    """The most frames after a chunk its reverse stream can read (farm planning)."""
    return REVERSE_BLOCK - 1 + REVERSE_POSTROLL
