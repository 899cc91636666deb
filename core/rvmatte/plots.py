"""Per-frame error curves (matplotlib, drawn off-screen)."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

LABELS = {"mad": "MAD ×1e3", "mse": "MSE ×1e3", "grad": "Grad ÷1e3", "conn": "Conn ÷1e3", "dtssd": "dtSSD ×1e2",
          "flicker": "flicker: mean |Δα| on still plate ×1e3", "still": "still-plate fraction"}


def plot_curves(evaluations: Dict[str, "Evaluation"], path: str, title: str = "",
                metrics: Optional[Sequence[str]] = None, first_frames: int = 0) -> None:
    """One panel per metric, one line per evaluation (label → Evaluation); the first
    ``first_frames`` frames are shaded."""
    try:
        import matplotlib
    except ImportError:
        from rvmatte.errors import RvmatteError

        raise RvmatteError("--plot needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(label, ev) for label, ev in evaluations.items() if ev.per_frame]
    if not runs:
        raise ValueError("nothing to plot")
    if metrics is None:
        metrics = [m for m in runs[0][1].per_frame[0] if m != "still"]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 2.2 * len(metrics) + 0.6), sharex=True, squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics):
        for label, ev in runs:
            ax.plot(ev.frames, [row[metric] for row in ev.per_frame], marker=".", linewidth=1.2, label=label)
        if first_frames:
            frames = runs[0][1].frames
            edge = frames[min(first_frames, len(frames)) - 1] + 0.5
            ax.axvspan(frames[0] - 0.5, edge, color="0.9", zorder=0)
        ax.set_ylabel(LABELS.get(metric, metric), fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("frame")
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=8, ncol=min(len(runs), 4))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
