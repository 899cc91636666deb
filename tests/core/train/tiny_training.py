"""A tiny training setup: every reader's layout generated under one folder, and a config for it."""
from pathlib import Path

import tiny_sets

CONFIG = """
[common]
batch_size = {batch}
segmentation = {segmentation}
[data]
videomatte = "{root}/vm"
imagematte = "{root}/im"
background_videos = "{root}/bgv"
background_images = "{root}/bgi"
coco_json = "{root}/coco/annotations/instances_train2017.json"
coco_images = "{root}/coco/train2017"
person_masks = "{root}/pm"
youtubevis = "{root}/yt"
[stage.1]
seq_length = 3
size = [32, 40]
[stage.2]
seq_length = 3
size = [32, 40]
[stage.3]
seq_length = 2
size = [32, 40]
high_res = {{ seq_length = 2, size = [64, 72], downsample_ratio = 0.5 }}
[stage.4]
seq_length = 2
size = [32, 40]
high_res = {{ seq_length = 2, size = [64, 72], downsample_ratio = 0.5 }}
"""


def make_sets(root: Path) -> Path:
    tiny_sets.videomatte(root / "vm")
    tiny_sets.imagematte(root / "im")
    tiny_sets.background_images(root / "bgi")
    tiny_sets.background_videos(root / "bgv")
    tiny_sets.coco(root / "coco")
    tiny_sets.youtubevis(root / "yt")
    tiny_sets.person_masks(root / "pm")
    return root


def write_config(path: Path, root: Path, batch: int = 2, segmentation: bool = True) -> Path:
    path.write_text(CONFIG.format(root=root.as_posix(), batch=batch, segmentation=str(segmentation).lower()))
    return path
