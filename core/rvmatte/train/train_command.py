"""``rvmatte train --stage N -o DIR [--config FILE] [--init WEIGHTS] [data folders] …``.

One stage per call, as the paper trains them one after another: stage 2 starts from
stage 1's ``weights.pth`` (``--init``). Run under ``torchrun --nproc_per_node K`` for
several GPUs or machines (PyTorch's own DistributedDataParallel); the batch size is per
process.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

DATA_FLAGS = {
    "videomatte": "VideoMatte240K folder (fgr/, pha/)",
    "imagematte": "image matting folder (fg/ + alpha/, or FG/ + GT/)",
    "background_videos": "background clips (<clip>/<frame>.jpg)",
    "background_images": "background images folder",
    "coco_json": "COCO instances JSON (image segmentation)",
    "coco_images": "COCO image folder",
    "person_masks": "image + mask folders, img/ and masks/ (image segmentation)",
    "youtubevis": "YouTubeVIS folder (JPEGImages/ + train.json or instances.json; video segmentation)",
}


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train RVM: one stage of the paper's schedule (docs/training.md)")
    p.add_argument("--stage", required=True, help="stage name in the config (the paper's: 1, 2, 3, 4)")
    p.add_argument("-o", "--output", required=True, help="folder for weights.pth, state.pt, losses.csv/png")
    p.add_argument("--config", help="TOML laid over the paper's schedule (rvmatte/train/paper.toml)")
    p.add_argument("--init", help="start from these weights (official layout); default: from scratch")
    p.add_argument("--steps", type=int, help="matting iterations of this stage (default: its epochs)")
    p.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--no-resume", action="store_true", help="start over even if DIR holds a checkpoint")
    p.add_argument("--device", default="auto")
    p.add_argument("--progress", choices=("tty", "json", "none"), default="tty")
    p.add_argument("--debug", action="store_true")
    for key, text in DATA_FLAGS.items():
        p.add_argument("--" + key.replace("_", "-"), dest=key, metavar="PATH", help=text)
    p.set_defaults(func=cmd_train)


def _datasets(paths: dict):
    from rvmatte.train import datasets as ds
    from rvmatte.train.trainer import TrainData

    data = TrainData()
    if paths.get("videomatte"):
        data.videomatte = ds.VideoMatteDataset(paths["videomatte"])
    if paths.get("imagematte"):
        data.imagematte = ds.ImageMatteDataset(paths["imagematte"])
    if paths.get("background_videos"):
        data.background_videos = ds.BackgroundVideoDataset(paths["background_videos"])
    if paths.get("background_images"):
        data.background_images = ds.BackgroundImageDataset(paths["background_images"])
    if bool(paths.get("coco_json")) != bool(paths.get("coco_images")):
        raise ds.DatasetLayoutError("COCO needs both --coco-json and --coco-images")
    if paths.get("coco_json"):
        data.image_segmentation.append(ds.CocoPersonDataset(paths["coco_json"], paths["coco_images"]))
    if paths.get("person_masks"):
        data.image_segmentation.append(ds.PersonMaskDataset(paths["person_masks"]))
    if paths.get("youtubevis"):
        data.video_segmentation = ds.YouTubeVISDataset(paths["youtubevis"])
    return data


def _model(schedule, init, device):
    from rvmatte.model import MattingNetwork
    from rvmatte.weights import WeightsError, load_state_dict

    model = MattingNetwork(schedule.variant)
    if init:
        state = load_state_dict(init, schedule.variant)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsError(f"--init {init} does not fit MattingNetwork({schedule.variant!r})") from None
    return model.requires_grad_(True)


def cmd_train(args) -> int:
    import torch

    from rvmatte.device import resolve_device
    from rvmatte.train.stages import load_schedule
    from rvmatte.train.trainer import Trainer, plot_losses

    schedule = load_schedule(args.config)
    stage = schedule.stage(args.stage)
    paths = dict(schedule.data)
    paths.update({k: getattr(args, k) for k in DATA_FLAGS if getattr(args, k)})
    data = _datasets(paths)
    device = resolve_device(args.device)
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    torch.manual_seed(schedule.seed)
    model = _model(schedule, args.init, device)
    bar = None

    def report(event):
        nonlocal bar
        if int(os.environ.get("RANK", "0")) != 0:
            return
        if args.progress == "json":
            print(json.dumps(event), flush=True)
        elif args.progress == "tty" and event["event"] == "step":
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=event["total"], initial=event["step"] - 1, unit="step", file=sys.stderr)
            bar.update(1)
            bar.set_postfix({k[:5]: f"{v:.4f}" for k, v in event["losses"].items()})

    trainer = Trainer(model, schedule, stage, data, args.output, device=str(device), steps=args.steps,
                      checkpoint_every=args.checkpoint_every, on_event=report)
    if not args.no_resume and trainer.resume():
        report({"event": "resumed", "step": trainer.step})
    trainer.run()
    if bar is not None:
        bar.close()
    if trainer.rank == 0:
        plot = plot_losses(args.output)
        report({"event": "done", "step": trainer.step, "weights": os.path.join(args.output, "weights.pth"),
                "plot": plot})
    return 0
