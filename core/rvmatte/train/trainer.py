"""One stage of training: batches built on the fly, Adam per module group, resumable checkpoints.

Randomness never lives in a generator that runs on across steps: the clip order of an epoch
is a permutation seeded by (seed, stage, epoch), and every sample's augmentation by (seed,
stage, step, batch kind, global sample index). A checkpoint therefore needs only the model,
the optimizer and the step to continue exactly, and under ``torchrun`` each process builds
its own slice of the same global batch a single process would build.

Checkpoints (in the output folder, each written to a temp file and renamed):
  weights.pth   the model's state_dict in the official layout: `rvmatte run --weights` loads it strictly
  state.pt      model + optimizer + step + stage + seed, tensors and numbers only (weights_only=True)
  losses.csv    step, kind, loss; losses.png at the end when matplotlib is there
"""
from __future__ import annotations

import csv
import math
import os
import secrets
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rvmatte.errors import InputError, OutputError, RvmatteError
from rvmatte.train import compose
from rvmatte.train.losses import matting_loss
from rvmatte.train.stages import Schedule, Stage, batch_kinds, param_groups

KIND_CODES = {"matting": 0, "high_res": 1, "image_segmentation": 2, "video_segmentation": 3}


@dataclass
class TrainData:
    """The data sets of a stage (readers from rvmatte.train.datasets); None where not given."""
    videomatte: Optional[object] = None
    imagematte: Optional[object] = None
    background_videos: Optional[object] = None
    background_images: Optional[object] = None
    image_segmentation: List[object] = field(default_factory=list)   # COCO, person-mask folders
    video_segmentation: Optional[object] = None                       # YouTubeVIS

    def check(self, stage: Stage, segmentation: bool) -> None:
        needed = [(stage.matting, getattr(self, stage.matting))]
        if self.background_videos is None and self.background_images is None:
            needed.append(("background_videos or background_images", None))
        if segmentation:
            needed += [("image_segmentation (coco or person_masks)", self.image_segmentation or None),
                       ("video_segmentation (youtubevis)", self.video_segmentation)]
        for name, value in needed:
            if value is None:
                raise InputError(f"stage {stage.name} needs the {name} data set: give it in the config's "
                                 f"[data] table or on the command line"
                                 + (" (or set segmentation = false)" if "segmentation" in name else ""))


def _distributed() -> tuple:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def freeze_batchnorm(model: nn.Module) -> None:
    """BatchNorm keeps its running statistics (eval mode) while the rest trains: clips of a
    few frames make poor batch statistics, and the shared weights' folded BatchNorm would
    change every output in train mode."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _atomic_save(obj, path: str) -> None:
    directory, base = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.makedirs(directory, exist_ok=True)
        torch.save(obj, temp)
        os.replace(temp, path)
    except OSError as error:
        if os.path.exists(temp):
            os.remove(temp)
        raise OutputError(f"cannot write {path} ({error.strerror or error})") from None
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


class Trainer:
    def __init__(self, model: nn.Module, schedule: Schedule, stage: Stage, data: TrainData, out_dir: str,
                 device: str = "cpu", steps: Optional[int] = None, checkpoint_every: int = 100,
                 on_event: Optional[Callable[[dict], None]] = None):
        self.schedule, self.stage, self.data, self.out_dir = schedule, stage, data, out_dir
        self.device = torch.device(device)
        self.rank, self.world = _distributed()
        self.batch = schedule.batch_size
        data.check(stage, schedule.segmentation)
        matting = getattr(data, stage.matting)
        per_epoch = math.ceil(len(matting) / (self.batch * self.world))
        self.total = steps if steps is not None else stage.epochs * per_epoch
        self.checkpoint_every = max(1, checkpoint_every)
        self.on_event = on_event or (lambda event: None)
        self.model = model.to(self.device)
        self.optimizer = torch.optim.Adam(param_groups(self.model, stage))
        self.step = 0
        self.stage_index = [s.name for s in schedule.stages].index(stage.name)
        self.net = self.model
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
            self.net = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)

    # -- resuming ----------------------------------------------------------------------------
    @property
    def state_path(self) -> str:
        return os.path.join(self.out_dir, "state.pt")

    def resume(self) -> bool:
        """Continue from ``state.pt`` if it is there and belongs to this stage."""
        if not os.path.exists(self.state_path):
            return False
        try:
            state = torch.load(self.state_path, map_location=self.device, weights_only=True)
        except Exception as error:  # noqa: BLE001 - a corrupt checkpoint is the user's to know about
            raise InputError(f"cannot resume from {self.state_path}: {str(error).splitlines()[0]}") from None
        if state.get("stage") != self.stage.name:
            raise InputError(f"{self.state_path} is from stage {state.get('stage')}, not {self.stage.name}: "
                             f"give another --output folder, or --init {os.path.join(self.out_dir, 'weights.pth')}")
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        return True

    def save(self) -> None:
        if self.rank != 0:
            return
        _atomic_save(self.model.state_dict(), os.path.join(self.out_dir, "weights.pth"))
        _atomic_save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                      "step": self.step, "stage": self.stage.name, "seed": self.schedule.seed},
                     self.state_path)
        self.on_event({"event": "checkpoint", "step": self.step})

    # -- batches -----------------------------------------------------------------------------
    def _rng(self, kind: str, index: int) -> np.random.Generator:
        return np.random.default_rng([self.schedule.seed, self.stage_index, self.step, KIND_CODES[kind], index])

    def _clip_of(self, dataset, kind: str, global_index: int, per_process: Optional[int] = None) -> int:
        position = self.step * (per_process or self.batch) * self.world + global_index
        epoch, at = divmod(position, len(dataset))
        order = np.random.default_rng([self.schedule.seed, self.stage_index, KIND_CODES[kind], epoch])
        return int(order.permutation(len(dataset))[at])

    def _background(self, rng: np.random.Generator, length: int) -> np.ndarray:
        videos, images = self.data.background_videos, self.data.background_images
        if videos is not None and (images is None or rng.random() < 0.5):
            clip = int(rng.integers(len(videos)))
            return videos.frames(clip, compose.frame_indices(rng, videos.frame_count(clip), length))
        image = images.sample(int(rng.integers(len(images))))
        return np.repeat(image[None], length, axis=0)

    def _matting_batch(self, kind: str, length: int, size, augment=True):
        dataset = getattr(self.data, self.stage.matting)
        hw = compose.draw_size(self._rng(kind, -1 % 2**32), size)
        srcs, fgrs, phas = [], [], []
        for j in range(self.rank * self.batch, (self.rank + 1) * self.batch):
            rng = self._rng(kind, j)
            clip = self._clip_of(dataset, "matting", j)
            if hasattr(dataset, "frames"):
                fgr, pha = dataset.frames(clip, compose.frame_indices(rng, dataset.frame_count(clip), length))
            else:
                fgr, pha = dataset.sample(clip)
                fgr, pha = np.repeat(fgr[None], length, axis=0), np.repeat(pha[None], length, axis=0)
            src, fgr, pha = compose.composite_clip(rng, fgr, pha, self._background(rng, length), hw, augment)
            srcs.append(src), fgrs.append(fgr), phas.append(pha)
        return tuple(self._tensor(x) for x in (srcs, fgrs, phas))

    def _segmentation_batch(self, kind: str):
        stage = self.stage
        video = kind == "video_segmentation"
        length, count = (stage.seq_length, self.batch) if video else (1, self.batch * stage.seq_length)
        hw = compose.draw_size(self._rng(kind, -1 % 2**32), stage.size)
        images, masks = [], []
        for j in range(self.rank * count, (self.rank + 1) * count):
            rng = self._rng(kind, j)
            if video:
                data = self.data.video_segmentation
                clip = self._clip_of(data, kind, j, count)
                frames, mask = data.frames(clip, compose.frame_indices(rng, data.frame_count(clip), length))
            else:
                sets = self.data.image_segmentation
                data = sets[int(rng.integers(len(sets)))]
                frames, mask = (x[None] for x in data.sample(self._clip_of(data, kind, j, count)))
            frames, mask = compose.segmentation_clip(rng, frames, mask, hw)
            images.append(frames), masks.append(mask)
        return self._tensor(images), self._tensor(masks)

    def _tensor(self, clips) -> torch.Tensor:
        array = np.ascontiguousarray(np.stack(clips).transpose(0, 1, 4, 2, 3))   # [B,T,C,H,W]
        return torch.from_numpy(array).to(self.device)

    # -- steps -------------------------------------------------------------------------------
    def _loss(self, kind: str) -> torch.Tensor:
        stage = self.stage
        if kind == "matting":
            src, fgr, pha = self._matting_batch("matting", stage.seq_length, stage.size)
            pred_fgr, pred_pha = self.net(src, downsample_ratio=1.0)[:2]
            loss = matting_loss(pred_pha, pha, pred_fgr, fgr)
            if stage.high_res is not None:
                high = stage.high_res
                src, fgr, pha = self._matting_batch("high_res", high.seq_length, high.size)
                pred_fgr, pred_pha = self.net(src, downsample_ratio=high.downsample_ratio)[:2]
                loss = loss + matting_loss(pred_pha, pha, pred_fgr, fgr)
            return loss
        images, masks = self._segmentation_batch(kind)
        logits = self.net(images, segmentation_pass=True)[0]
        return F.binary_cross_entropy_with_logits(logits, masks)

    def run(self) -> Dict[str, float]:
        """Train up to ``self.total`` matting iterations (with their segmentation batches)."""
        self.model.train()
        freeze_batchnorm(self.model)
        kinds = list(batch_kinds(self.total, self.schedule.segmentation, start=self.step))
        per_step = 2 if self.schedule.segmentation else 1
        self._load_losses()
        board = self._tensorboard()
        last: Dict[str, float] = {}
        for i in range(0, len(kinds), per_step):
            for kind in kinds[i:i + per_step]:
                self.optimizer.zero_grad(set_to_none=True)
                try:
                    loss = self._loss(kind)
                    loss.backward()
                except torch.cuda.OutOfMemoryError:
                    stage = self.stage
                    raise RvmatteError(
                        f"out of GPU memory in stage {stage.name} at step {self.step + 1} ({kind}, batch "
                        f"{self.batch}, T = {stage.seq_length}, sizes {stage.size[0]}..{stage.size[1]}): lower "
                        f"batch_size, seq_length or size in the config; the last checkpoint is kept") from None
                self.optimizer.step()
                last[kind] = float(loss.detach())
                if self.rank == 0:
                    self._rows.append([str(self.step + 1), kind, f"{last[kind]:.6g}"])
                    if board is not None:
                        board.add_scalar(f"loss/{kind}", last[kind], self.step + 1)
            self.step += 1
            self.on_event({"event": "step", "step": self.step, "total": self.total, "losses": dict(last)})
            if self.step % self.checkpoint_every == 0 or self.step == self.total:
                self._flush_losses()
                self.save()
        self._flush_losses()
        if board is not None:
            board.close()
        return last

    def _tensorboard(self):
        """A SummaryWriter on ``<out>/tensorboard`` when tensorboard is installed (rank 0 only)."""
        if self.rank != 0:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
        return SummaryWriter(os.path.join(self.out_dir, "tensorboard"), purge_step=self.step + 1)

    # -- the loss log ------------------------------------------------------------------------
    def _load_losses(self) -> None:
        """The loss log's rows up to the step this run starts from (a resumed run drops the rows a
        killed run logged after its last checkpoint)."""
        path = os.path.join(self.out_dir, "losses.csv")
        self._rows = []
        if self.rank == 0 and os.path.exists(path):
            with open(path, newline="") as f:
                self._rows = [r for r in csv.reader(f) if r and r[0].isdigit() and int(r[0]) <= self.step]

    def _flush_losses(self) -> None:
        if self.rank != 0:
            return
        path = os.path.join(self.out_dir, "losses.csv")
        temp = f"{path}.tmp-{os.getpid()}"
        os.makedirs(self.out_dir, exist_ok=True)
        with open(temp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "kind", "loss"])
            writer.writerows(self._rows)
        os.replace(temp, path)


def plot_losses(out_dir: str) -> Optional[str]:
    """losses.png beside losses.csv (None when matplotlib is not installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series: Dict[str, list] = {}
    with open(os.path.join(out_dir, "losses.csv"), newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["kind"], []).append((int(row["step"]), float(row["loss"])))
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, points in series.items():
        ax.plot(*zip(*points), label=kind)
    ax.set_xlabel("step"), ax.set_ylabel("loss"), ax.set_yscale("log"), ax.legend()
    path = os.path.join(out_dir, "losses.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
