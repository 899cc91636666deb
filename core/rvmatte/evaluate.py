"""Video matting metrics as reported in the RVM paper, and a flicker measure for footage
without ground truth.

Conventions (those of the paper's public low-resolution evaluation, reproduced
here from its description): alpha values in 0..1 (8-bit files divided by 255),
each metric computed per frame and averaged over the frames of a clip.

===========  ==============================================================  =======
metric       per frame                                                       scale
===========  ==============================================================  =======
MAD          mean |pred − true|                                              × 1e3
MSE          mean (pred − true)²                                             × 1e3
Grad         Σ (|∇pred| − |∇true|)², gradients by first-order Gaussian       ÷ 1e3
             derivative filters (σ = 1.4) of the min-max normalised mattes
Conn         Σ |φ(pred) − φ(true)|, connectivity error with 0.1 threshold     ÷ 1e3
             steps and 4-connectivity (Rhemann et al.'s definition)
dtSSD        sqrt(Σ ((pred_t − pred_t−1) − (true_t − true_t−1))² / pixels);  × 1e2
             the first frame counts as 0, as in the paper's tables
===========  ==============================================================  =======

Grad and Conn are sums over the frame, so they grow with resolution; compare
them only at the same size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

METRICS = ("mad", "mse", "grad", "conn", "dtssd")
GRAD_SIGMA = 1.4
CONN_STEP = 0.1
CONN_MIN_DIFFERENCE = 0.15
FLICKER_PLATE_THRESHOLD = 2.0 / 255.0


def mad(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.abs(pred - true).mean() * 1e3)


def mse(pred: np.ndarray, true: np.ndarray) -> float:
    return float(((pred - true) ** 2).mean() * 1e3)


def gaussian_derivative_kernels(sigma: float = GRAD_SIGMA, epsilon: float = 1e-2):
    """The 1-D factors of the x-derivative filter ``g(row) · g'(column)`` and its L2 norm.

    The half width is where the Gaussian density falls to ``epsilon`` (the matting
    benchmarks' size rule): ``ceil(σ · sqrt(−2 ln(sqrt(2π) σ ε)))``, 4 for σ = 1.4.
    """
    half = int(math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * epsilon))))
    t = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-t ** 2 / (2.0 * sigma ** 2)) / (sigma * math.sqrt(2.0 * math.pi))
    derivative = -t * gauss / sigma ** 2
    norm = math.sqrt(float((gauss ** 2).sum() * (derivative ** 2).sum()))
    return gauss, derivative, norm


def _correlate_1d(image: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Correlation along ``axis`` with edge-replicating borders."""
    half = len(kernel) // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(image, pad, mode="edge")
    out = np.zeros_like(image, dtype=np.float64)
    length = image.shape[axis]
    for k, weight in enumerate(kernel):
        window = padded[k:k + length] if axis == 0 else padded[:, k:k + length]
        out += weight * window
    return out


def gradient_magnitude(image: np.ndarray, sigma: float = GRAD_SIGMA) -> np.ndarray:
    gauss, derivative, norm = gaussian_derivative_kernels(sigma)
    gx = _correlate_1d(_correlate_1d(image, gauss, 0), derivative, 1) / norm
    gy = _correlate_1d(_correlate_1d(image, derivative, 0), gauss, 1) / norm
    return np.sqrt(gx ** 2 + gy ** 2)


def _min_max(image: np.ndarray) -> np.ndarray:
    low, high = float(image.min()), float(image.max())
    if high - low <= np.finfo(np.float64).eps:
        return np.zeros_like(image, dtype=np.float64)
    return (image - low) / (high - low)


def grad(pred: np.ndarray, true: np.ndarray) -> float:
    difference = gradient_magnitude(_min_max(pred)) - gradient_magnitude(_min_max(true))
    return float((difference ** 2).sum() / 1e3)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (all False when empty).

    Horizontal runs are found per row with numpy, runs that touch in adjacent rows
    are joined with a small union-find, and the biggest group wins (ties: the
    group whose first pixel comes first in row-major order)."""
    rows, starts, ends = _runs(mask)
    if not len(rows):
        return np.zeros_like(mask, dtype=bool)
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
    for r in range(mask.shape[0] - 1):
        a0, a1 = row_first[r], row_first[r + 1]
        b0, b1 = row_first[r + 1], row_first[r + 2]
        if a0 == a1 or b0 == b1:
            continue
        b_starts, b_ends = starts[b0:b1], ends[b0:b1]
        for a in range(a0, a1):
            # runs [s, e) of the next row that overlap [starts[a], ends[a])
            lo = np.searchsorted(b_ends, starts[a], side="right")
            hi = np.searchsorted(b_starts, ends[a], side="left")
            for b in range(b0 + lo, b0 + hi):
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(len(rows))])
    sizes = np.bincount(roots, weights=(ends - starts))
    best = int(np.argmax(sizes))
    out = np.zeros_like(mask, dtype=bool)
    for i in np.nonzero(roots == best)[0]:
        out[rows[i], starts[i]:ends[i]] = True
    return out


def _runs(mask: np.ndarray):
    """(row, start, end) of every horizontal run of True, sorted by row then start."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    change = np.diff(padded, axis=1)
    r_start, c_start = np.nonzero(change == 1)
    r_end, c_end = np.nonzero(change == -1)
    return r_start, c_start, c_end


def conn(pred: np.ndarray, true: np.ndarray, step: float = CONN_STEP) -> float:
    """Connectivity error: for each threshold, pixels outside the largest component the two
    thresholded mattes share are assigned the previous threshold; φ = 1 − d·[d ≥ 0.15] with
    d = alpha − that level."""
    thresholds = np.arange(0.0, 1.0 + step, step)
    level = np.full(true.shape, -1.0)
    for i in range(1, len(thresholds)):
        shared = largest_component((true >= thresholds[i]) & (pred >= thresholds[i]))
        level[(level == -1.0) & ~shared] = thresholds[i - 1]
    level[level == -1.0] = 1.0
    d_true, d_pred = true - level, pred - level
    phi_true = 1.0 - d_true * (d_true >= CONN_MIN_DIFFERENCE)
    phi_pred = 1.0 - d_pred * (d_pred >= CONN_MIN_DIFFERENCE)
    return float(np.abs(phi_true - phi_pred).sum() / 1e3)


def dtssd(pred: np.ndarray, pred_prev: np.ndarray, true: np.ndarray, true_prev: np.ndarray) -> float:
    change = (pred - pred_prev) - (true - true_prev)
    return float(math.sqrt((change ** 2).sum() / true.size) * 1e2)


def frame_metrics(pred: np.ndarray, true: np.ndarray, pred_prev: Optional[np.ndarray] = None,
                  true_prev: Optional[np.ndarray] = None, metrics: Sequence[str] = METRICS) -> Dict[str, float]:
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    out: Dict[str, float] = {}
    if "mad" in metrics:
        out["mad"] = mad(pred, true)
    if "mse" in metrics:
        out["mse"] = mse(pred, true)
    if "grad" in metrics:
        out["grad"] = grad(pred, true)
    if "conn" in metrics:
        out["conn"] = conn(pred, true)
    if "dtssd" in metrics:
        out["dtssd"] = 0.0 if pred_prev is None else dtssd(pred, np.asarray(pred_prev, np.float64),
                                                          true, np.asarray(true_prev, np.float64))
    return out


def flicker(alpha: np.ndarray, alpha_prev: np.ndarray, plate: np.ndarray, plate_prev: np.ndarray,
            threshold: float = FLICKER_PLATE_THRESHOLD) -> Dict[str, float]:
    """Frame-to-frame alpha change where the plate itself barely changed.

    ``plate``: display-encoded RGB (H, W, 3). A pixel is *still* when every channel moved by
    less than ``threshold`` (2/255 by default); ``flicker`` is the mean |Δalpha| over still
    pixels × 1e3 (MAD's scale), ``still`` the fraction of still pixels. A steady matte of a
    steady plate scores 0."""
    still = (np.abs(np.asarray(plate, np.float64) - plate_prev) < threshold).all(axis=-1)
    change = np.abs(np.asarray(alpha, np.float64) - alpha_prev)
    count = int(still.sum())
    value = float(change[still].mean() * 1e3) if count else 0.0
    return {"flicker": value, "still": count / still.size}


@dataclass
class Evaluation:
    """Per-frame rows plus their means: over all frames, the first frames, and the rest."""

    frames: List[int]
    per_frame: List[Dict[str, float]]
    first_frames: int = 0
    overall: Dict[str, float] = field(default_factory=dict)
    first: Dict[str, float] = field(default_factory=dict)
    rest: Dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        self.overall = _means(self.per_frame)
        head = min(self.first_frames, len(self.per_frame))
        self.first = _means(self.per_frame[:head]) if head else {}
        self.rest = _means(self.per_frame[head:]) if head else {}

    def rows(self) -> List[Dict[str, float]]:
        return [{"frame": f, **row} for f, row in zip(self.frames, self.per_frame)]

    def to_dict(self) -> dict:
        return {"frames": len(self.frames), "first_frame": self.frames[0] if self.frames else None,
                "first_frames": self.first_frames, "overall": self.overall, "first": self.first,
                "rest": self.rest, "per_frame": self.rows()}


def _means(rows: Sequence[Dict[str, float]]) -> Dict[str, float]:
    if not rows:
        return {}
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def evaluate_pairs(frames: Sequence[int], preds: Iterable[np.ndarray], truths: Iterable[np.ndarray],
                   first_frames: int = 10, metrics: Sequence[str] = METRICS) -> Evaluation:
    """Score aligned prediction / ground-truth mattes given in frame order. dtSSD compares
    consecutive frame numbers only; after a gap it restarts at 0 like a first frame."""
    rows = []
    previous = None
    for frame, pred, true in zip(frames, preds, truths):
        if pred.shape != true.shape:
            raise ValueError(f"frame {frame}: the prediction is {pred.shape[1]}x{pred.shape[0]}, "
                             f"the ground truth {true.shape[1]}x{true.shape[0]}")
        pred_prev = true_prev = None
        if previous is not None and previous[0] == frame - 1:
            pred_prev, true_prev = previous[1], previous[2]
        rows.append(frame_metrics(pred, true, pred_prev, true_prev, metrics))
        previous = (frame, pred, true)
    return Evaluation(list(frames), rows, first_frames)


def evaluate_sequences(prediction: str, truth: str, first_frames: int = 10,
                       frames: Optional[Sequence[int]] = None, metrics: Sequence[str] = METRICS,
                       warn=None) -> Evaluation:
    """Score a predicted alpha sequence against a ground-truth sequence, matched by frame
    number. Raises InputError for sizes that differ or sequences with no frame in common."""
    from rvmatte.errors import InputError
    from rvmatte.mattes import MatteSequence

    pred_seq = MatteSequence(prediction, "prediction")
    true_seq = MatteSequence(truth, "ground truth")
    if (pred_seq.width, pred_seq.height) != (true_seq.width, true_seq.height):
        raise InputError(f"the prediction {pred_seq.hashes} is {pred_seq.width}x{pred_seq.height}, the ground "
                         f"truth {true_seq.hashes} is {true_seq.width}x{true_seq.height}")
    common = sorted(set(pred_seq.frames) & set(true_seq.frames))
    if frames is not None:
        wanted = set(frames)
        common = [f for f in common if f in wanted]
    if not common:
        raise InputError(f"no frame in common: prediction {pred_seq.hashes} has {_span(pred_seq.frames)}, "
                         f"ground truth {true_seq.hashes} has {_span(true_seq.frames)}")
    missing = [f for f in true_seq.frames if f not in set(pred_seq.frames) and (frames is None or f in frames)]
    if missing and warn is not None:
        warn(f"the prediction lacks {len(missing)} ground-truth frame(s), first {missing[0]}: "
             f"{pred_seq.frame_path(missing[0])}")
    return evaluate_pairs(common, (pred_seq.read(f) for f in common), (true_seq.read(f) for f in common),
                          first_frames, metrics)


def flicker_sequences(alpha: str, plate: str, threshold: float = FLICKER_PLATE_THRESHOLD,
                      first_frames: int = 10) -> Evaluation:
    """Flicker of an alpha sequence over its plate (any input ``rvmatte run`` reads),
    frame-matched; the first frame and frames after a gap score 0."""
    from rvmatte.errors import InputError
    from rvmatte.io import open_input
    from rvmatte.io.colour import ColourPipeline, default_input_colorspace
    from rvmatte.mattes import MatteSequence

    alpha_seq = MatteSequence(alpha, "alpha")
    source = open_input(plate)
    if (alpha_seq.width, alpha_seq.height) != (source.width, source.height):
        raise InputError(f"the alpha {alpha_seq.hashes} is {alpha_seq.width}x{alpha_seq.height}, "
                         f"the plate {source.path} is {source.width}x{source.height}")
    common = sorted(set(alpha_seq.frames) & set(source.frames))
    if not common:
        raise InputError(f"no frame in common: alpha {alpha_seq.hashes} has {_span(alpha_seq.frames)}, "
                         f"plate {source.path} has {_span(source.frames)}")
    space, _ = default_input_colorspace(source)
    colour = ColourPipeline(space)
    rows, previous = [], None
    for plate_frame in source.read(common):
        frame = plate_frame.frame
        rgb = np.clip(colour.to_model(np.nan_to_num(plate_frame.rgb)), 0.0, 1.0)
        matte = alpha_seq.read(frame)
        if previous is not None and previous[0] == frame - 1:
            rows.append(flicker(matte, previous[1], rgb, previous[2], threshold))
        else:
            rows.append({"flicker": 0.0, "still": 0.0})
        previous = (frame, matte, rgb)
    return Evaluation(common, rows, first_frames)


def _span(frames: Sequence[int]) -> str:
    return f"frames {frames[0]}-{frames[-1]}" if frames else "no frames"
