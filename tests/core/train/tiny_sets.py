"""Tiny training sets in each public layout, generated on the fly (a few 32x24 images)."""
import json
from pathlib import Path

import numpy as np

from tiny_shot import write_png

W, H = 32, 24


def _blob(seed: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    cx, cy = 10 + seed % 12, 8 + seed % 8
    return np.clip(1.5 - np.hypot(xx - cx, yy - cy) / 5, 0, 1).astype(np.float32)


def _colour(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((H, W, 3), dtype=np.float32)


def videomatte(root: Path, clips=2, frames=3) -> Path:
    for c in range(clips):
        for f in range(frames):
            for part, pixels in (("fgr", _colour(c * 10 + f)), ("pha", _blob(c + f)[:, :, None])):
                (root / part / f"{c:04d}").mkdir(parents=True, exist_ok=True)
                write_png(root / part / f"{c:04d}" / f"{f:05d}.png", pixels)
    return root


def imagematte(root: Path, fg="fg", alpha="alpha", count=3) -> Path:
    for i in range(count):
        for part, pixels in ((fg, _colour(100 + i)), (alpha, _blob(i)[:, :, None])):
            (root / part).mkdir(parents=True, exist_ok=True)
            write_png(root / part / f"im{i}.png", pixels)
    return root


def background_images(root: Path, count=2) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_png(root / f"bg{i}.png", _colour(200 + i))
    return root


def background_videos(root: Path, clips=2, frames=3) -> Path:
    for c in range(clips):
        (root / f"clip{c}").mkdir(parents=True, exist_ok=True)
        for f in range(frames):
            write_png(root / f"clip{c}" / f"{f:04d}.png", _colour(300 + c * 10 + f))
    return root


SQUARE = [[4.0, 4.0, 12.0, 4.0, 12.0, 12.0, 4.0, 12.0]]     # a polygon covering x, y in 4..12


def coco(root: Path) -> Path:
    (root / "train2017").mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(2):
        write_png(root / "train2017" / f"{i:012d}.png", _colour(400 + i))
        images.append({"id": i + 1, "file_name": f"{i:012d}.png", "height": H, "width": W})
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": SQUARE},
        {"id": 2, "image_id": 2, "category_id": 1, "iscrowd": 0,
         "segmentation": {"size": [H, W], "counts": [H * 2, H, H * (W - 3)]}},     # column 2 only
        {"id": 3, "image_id": 1, "category_id": 18, "iscrowd": 0, "segmentation": [[0, 0, 3, 0, 3, 3]]},
    ]
    (root / "annotations").mkdir(exist_ok=True)
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(
        {"images": images, "annotations": annotations,
         "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]}))
    return root


def youtubevis(root: Path, frames=3) -> Path:
    names = []
    for f in range(frames):
        (root / "JPEGImages" / "vid0").mkdir(parents=True, exist_ok=True)
        write_png(root / "JPEGImages" / "vid0" / f"{f:05d}.png", _colour(500 + f))
        names.append(f"vid0/{f:05d}.png")
    segs = [SQUARE, None, {"size": [H, W], "counts": [H * 2, H, H * (W - 3)]}][:frames]
    (root / "train.json").write_text(json.dumps({
        "videos": [{"id": 1, "file_names": names, "height": H, "width": W}],
        "annotations": [{"id": 1, "video_id": 1, "category_id": 1, "segmentations": segs}],
        "categories": [{"id": 1, "name": "person"}]}))
    return root


def person_masks(root: Path, count=2) -> Path:
    for i in range(count):
        (root / "img").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        write_png(root / "img" / f"p{i}.png", _colour(600 + i))
        write_png(root / "masks" / f"p{i}.png", (_blob(i) > 0.5).astype(np.float32)[:, :, None])
    return root
