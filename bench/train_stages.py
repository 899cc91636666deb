"""A short run of each of the paper's four stages on tiny generated data sets (issue 16).

    PYTHONPATH=core .venv/bin/python bench/train_stages.py [--steps 12]

The data sets are the tests' generated ones (tests/core/train/tiny_sets.py: 32x24 images in
every reader's layout), the schedule the paper's with clips shortened to T <= 3 and sizes of
32..40 px (64..72 for the high-resolution pass): the point is that every stage's data path,
losses and optimiser groups work end to end and the loss falls, not matting quality. The loss
is measured on the same fixed batches (those of step 0) before and after training. Stage 1
starts from scratch, each later stage from the previous one's weights, as the paper chains them.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "core"), str(REPO / "tests" / "core" / "train"), str(REPO / "tests" / "core"),
                str(REPO / "tests")]

from rvmatte.model import MattingNetwork  # noqa: E402
from rvmatte.train.stages import load_schedule  # noqa: E402
from rvmatte.train.train_command import _datasets  # noqa: E402
from rvmatte.train.trainer import Trainer  # noqa: E402
from tiny_training import make_sets, write_config  # noqa: E402


def fixed_losses(trainer, kinds):
    saved, trainer.step = trainer.step, 0
    with torch.no_grad():
        out = {k: float(trainer._loss(k)) for k in kinds}
    trainer.step = saved
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = make_sets(tmp / "sets")
        schedule = load_schedule(str(write_config(tmp / "tiny.toml", sets)))
        data = _datasets(schedule.data)
        torch.manual_seed(0)
        model = MattingNetwork("mobilenetv3")
        kinds = ("matting", "image_segmentation", "video_segmentation")
        print("| stage | matting data | steps | loss before → after (matting / image seg / video seg) | s |")
        print("|---|---|---|---|---|")
        for stage in schedule.stages:
            trainer = Trainer(model, schedule, stage, data, str(tmp / f"out{stage.name}"), steps=args.steps,
                              checkpoint_every=args.steps)
            start = time.perf_counter()
            before = fixed_losses(trainer, kinds)
            trainer.run()
            after = fixed_losses(trainer, kinds)
            loaded = MattingNetwork("mobilenetv3")
            loaded.load_state_dict(torch.load(tmp / f"out{stage.name}" / "weights.pth", weights_only=True),
                                   strict=True)
            cells = " / ".join(f"{before[k]:.3f} → {after[k]:.3f}" for k in kinds)
            print(f"| {stage.name} | {stage.matting} | {args.steps} | {cells} | {time.perf_counter() - start:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
