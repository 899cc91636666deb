"""Readers for the public training-set layouts, each checking its layout up front.

Every reader walks its folder once when it is made and raises ``DatasetLayoutError`` naming
the first file or folder that does not fit, so a week-long run does not die on day three
over a missing matte. Samples come back as float32 numpy arrays in 0..1 (H, W, C), the
values as stored (sRGB-encoded, as RVM trains); compositing and augmentation happen later.

Layouts (the public ones as released):
  VideoMatte240K   ROOT/fgr/<clip>/<frame>.jpg and ROOT/pha/<clip>/<frame>.jpg, same names
  image matting    ROOT/fg/* + ROOT/alpha/* (Adobe Image Matting) or ROOT/FG/* + ROOT/GT/*
                   (Distinctions-646), same file names
  backgrounds      video: ROOT/<clip>/<frame>.jpg; images: ROOT/*.jpg
  YouTubeVIS       ROOT/JPEGImages/<video>/<frame>.jpg + ROOT/<annotations>.json (2019 train.json
                   or 2021 instances.json), person instances
  COCO             an instances JSON + its image folder, person instances
  person masks     ROOT/img/<name>.<ext> + ROOT/masks/<name>.<ext> (Supervisely-Person converted
                   to images and masks), same stems
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import OpenImageIO as oiio

from rvmatte.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".exr", ".tif", ".tiff")


class DatasetLayoutError(InputError):
    """A training set whose folder layout does not fit its reader; names the culprit."""


def _images(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _need_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetLayoutError(f"{what}: missing folder {path}")
    return path


def read_image(path: os.PathLike, channels: Optional[int] = None) -> np.ndarray:
    """(H, W, C) float32 in 0..1; ``channels`` = 1 keeps the first, 3 the first three."""
    inp = oiio.ImageInput.open(os.fspath(path))
    if inp is None:
        raise InputError(f"cannot read {path}: {oiio.geterror()}")
    try:
        pixels = inp.read_image(0, 0, 0, -1, oiio.FLOAT)
    finally:
        inp.close()
    if pixels is None:
        raise InputError(f"cannot read {path}: {oiio.geterror()}")
    pixels = np.atleast_3d(pixels).astype(np.float32, copy=False)
    if channels is not None:
        if pixels.shape[2] < channels:
            pixels = np.repeat(pixels[:, :, :1], channels, axis=2)
        pixels = pixels[:, :, :channels]
    return np.ascontiguousarray(pixels)


def _matching(names_a: Sequence[str], names_b: Sequence[str], folder_a: Path, folder_b: Path,
              what: str, by_stem: bool = False) -> None:
    key = (lambda n: os.path.splitext(n)[0]) if by_stem else (lambda n: n)
    b = {key(n) for n in names_b}
    for name in names_a:
        if key(name) not in b:
            raise DatasetLayoutError(f"{what}: {folder_a / name} has no partner in {folder_b}")
    a = {key(n) for n in names_a}
    for name in names_b:
        if key(name) not in a:
            raise DatasetLayoutError(f"{what}: {folder_b / name} has no partner in {folder_a}")


class VideoMatteDataset:
    """VideoMatte240K: clips of foreground frames and their alpha."""

    def __init__(self, root: os.PathLike):
        self.root = Path(root)
        what = "VideoMatte240K layout (fgr/<clip>/, pha/<clip>/)"
        fgr, pha = _need_dir(self.root / "fgr", what), _need_dir(self.root / "pha", what)
        clips = sorted(p.name for p in fgr.iterdir() if p.is_dir())
        if not clips:
            raise DatasetLayoutError(f"{what}: no clip folders in {fgr}")
        _matching(clips, sorted(p.name for p in pha.iterdir() if p.is_dir()), fgr, pha, what)
        self.clips: List[Tuple[str, List[str]]] = []
        for clip in clips:
            frames = _images(fgr / clip)
            if not frames:
                raise DatasetLayoutError(f"{what}: no frames in {fgr / clip}")
            _matching(frames, _images(pha / clip), fgr / clip, pha / clip, what)
            self.clips.append((clip, frames))

    def __len__(self) -> int:
        return len(self.clips)

    def frame_count(self, index: int) -> int:
        return len(self.clips[index][1])

    def frames(self, index: int, numbers: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Foreground (T, H, W, 3) and alpha (T, H, W, 1) of clip ``index`` at frame indices ``numbers``."""
        clip, names = self.clips[index]
        fgr = [read_image(self.root / "fgr" / clip / names[n], 3) for n in numbers]
        pha = [read_image(self.root / "pha" / clip / names[n], 1) for n in numbers]
        return np.stack(fgr), np.stack(pha)


class ImageMatteDataset:
    """Image matting sets: Adobe Image Matting (fg/ + alpha/) or Distinctions-646 (FG/ + GT/)."""

    LAYOUTS = (("fg", "alpha"), ("FG", "GT"))

    def __init__(self, root: os.PathLike):
        self.root = Path(root)
        what = "image matting layout (fg/ + alpha/, or FG/ + GT/)"
        for fg_name, alpha_name in self.LAYOUTS:
            if (self.root / fg_name).is_dir() and (self.root / alpha_name).is_dir():
                break
        else:
            raise DatasetLayoutError(f"{what}: {self.root} has neither fg/ + alpha/ nor FG/ + GT/")
        self.fg_dir, self.alpha_dir = self.root / fg_name, self.root / alpha_name
        self.names = _images(self.fg_dir)
        if not self.names:
            raise DatasetLayoutError(f"{what}: no images in {self.fg_dir}")
        _matching(self.names, _images(self.alpha_dir), self.fg_dir, self.alpha_dir, what)

    def __len__(self) -> int:
        return len(self.names)

    def sample(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        name = self.names[index]
        return read_image(self.fg_dir / name, 3), read_image(self.alpha_dir / name, 1)


class BackgroundVideoDataset:
    """Background clips: one folder of frames per clip."""

    def __init__(self, root: os.PathLike):
        self.root = Path(_need_dir(Path(root), "background videos (<clip>/<frame>.jpg)"))
        self.clips = []
        for clip in sorted(p for p in self.root.iterdir() if p.is_dir()):
            frames = _images(clip)
            if not frames:
                raise DatasetLayoutError(f"background videos: no frames in {clip}")
            self.clips.append((clip.name, frames))
        if not self.clips:
            raise DatasetLayoutError(f"background videos: no clip folders in {self.root}")

    def __len__(self) -> int:
        return len(self.clips)

    def frame_count(self, index: int) -> int:
        return len(self.clips[index][1])

    def frames(self, index: int, numbers: Sequence[int]) -> np.ndarray:
        clip, names = self.clips[index]
        return np.stack([read_image(self.root / clip / names[n], 3) for n in numbers])


class BackgroundImageDataset:
    """Background images: a flat folder."""

    def __init__(self, root: os.PathLike):
        self.root = Path(_need_dir(Path(root), "background images"))
        self.names = _images(self.root)
        if not self.names:
            raise DatasetLayoutError(f"background images: no images in {self.root}")

    def __len__(self) -> int:
        return len(self.names)

    def sample(self, index: int) -> np.ndarray:
        return read_image(self.root / self.names[index], 3)


# -- segmentation sets ------------------------------------------------------------------------
def decode_rle(counts, height: int, width: int) -> np.ndarray:
    """A COCO run-length mask (a list of counts, or the compressed string form) as (H, W) uint8.
    Runs alternate 0s and 1s, starting with 0s, in column-major order."""
    if isinstance(counts, str):
        runs: List[int] = []
        pos = 0
        data = counts.encode("ascii")
        while pos < len(data):
            value, shift, more = 0, 0, True
            while more:
                c = data[pos] - 48
                value |= (c & 0x1F) << shift
                more = bool(c & 0x20)
                pos += 1
                shift += 5
                if not more and c & 0x10:
                    value |= -1 << shift
            if len(runs) > 2:
                value += runs[-2]
            runs.append(value)
        counts = runs
    flat = np.zeros(height * width, np.uint8)
    at, bit = 0, 0
    for run in counts:
        if bit:
            flat[at:at + run] = 1
        at += run
        bit ^= 1
    if at != height * width:
        raise ValueError(f"run-length counts cover {at} pixels, not {height}x{width}")
    return flat.reshape(width, height).T.copy()


def decode_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """A COCO/YouTubeVIS segmentation (polygons or RLE) as an (H, W) uint8 mask."""
    if isinstance(segmentation, list):
        mask = np.zeros((height, width), np.uint8)
        for polygon in segmentation:
            points = np.round(np.asarray(polygon, np.float64).reshape(-1, 2)).astype(np.int32)
            cv2.fillPoly(mask, [points], 1)
        return mask
    if isinstance(segmentation, dict) and "counts" in segmentation:
        h, w = segmentation.get("size", (height, width))
        return decode_rle(segmentation["counts"], int(h), int(w))
    raise ValueError(f"unknown segmentation form {type(segmentation).__name__}")


def _load_json(path: Path, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as error:
        raise DatasetLayoutError(f"{what}: cannot read {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise DatasetLayoutError(f"{what}: {path} is not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(data, dict):
        raise DatasetLayoutError(f"{what}: {path} is not an annotation object")
    for key in ("annotations", "categories"):
        if key not in data:
            raise DatasetLayoutError(f"{what}: {path} has no {key!r} list")
    return data


def _person_ids(data: dict, path: Path, what: str) -> set:
    ids = {c.get("id") for c in data["categories"] if c.get("name") == "person"}
    if not ids:
        raise DatasetLayoutError(f"{what}: {path} has no 'person' category")
    return ids


class CocoPersonDataset:
    """COCO instances: images with at least one person, the union of their masks."""

    def __init__(self, annotations: os.PathLike, images: os.PathLike):
        what = "COCO layout (instances JSON + image folder)"
        self.annotations, self.images = Path(annotations), _need_dir(Path(images), what)
        data = _load_json(self.annotations, what)
        if "images" not in data:
            raise DatasetLayoutError(f"{what}: {self.annotations} has no 'images' list")
        person = _person_ids(data, self.annotations, what)
        info = {im["id"]: im for im in data["images"]}
        self.items: Dict[int, list] = {}
        for ann in data["annotations"]:
            if ann.get("category_id") in person and not ann.get("iscrowd", 0):
                if ann.get("image_id") not in info:
                    raise DatasetLayoutError(f"{what}: annotation {ann.get('id')} names image "
                                             f"{ann.get('image_id')}, which {self.annotations} does not list")
                self.items.setdefault(ann["image_id"], []).append(ann["segmentation"])
        self.ids = sorted(self.items)
        self.info = info
        for image_id in self.ids:
            path = self.images / info[image_id]["file_name"]
            if not path.is_file():
                raise DatasetLayoutError(f"{what}: missing image {path} (image {image_id})")
        if not self.ids:
            raise DatasetLayoutError(f"{what}: {self.annotations} has no person instances")

    def __len__(self) -> int:
        return len(self.ids)

    def sample(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Image (H, W, 3) and its person mask (H, W, 1) in {0, 1}."""
        info = self.info[self.ids[index]]
        h, w = int(info["height"]), int(info["width"])
        mask = np.zeros((h, w), np.uint8)
        for segmentation in self.items[self.ids[index]]:
            mask |= decode_segmentation(segmentation, h, w)
        return read_image(self.images / info["file_name"], 3), mask[:, :, None].astype(np.float32)


class YouTubeVISDataset:
    """YouTubeVIS: videos with at least one person; per frame, the union of their masks."""

    def __init__(self, root: os.PathLike, annotations: Optional[os.PathLike] = None):
        what = "YouTubeVIS layout (JPEGImages/<video>/ + annotations JSON)"
        self.root = Path(root)
        self.frames_dir = _need_dir(self.root / "JPEGImages", what)
        if annotations is None:
            found = [self.root / n for n in ("instances.json", "train.json") if (self.root / n).is_file()]
            if not found:
                raise DatasetLayoutError(f"{what}: no instances.json or train.json in {self.root}")
            annotations = found[0]
        self.annotations = Path(annotations)
        data = _load_json(self.annotations, what)
        if "videos" not in data:
            raise DatasetLayoutError(f"{what}: {self.annotations} has no 'videos' list")
        person = _person_ids(data, self.annotations, what)
        videos = {v["id"]: v for v in data["videos"]}
        self.items: Dict[int, list] = {}
        for ann in data["annotations"]:
            if ann.get("category_id") in person:
                self.items.setdefault(ann["video_id"], []).append(ann["segmentations"])
        self.ids = sorted(self.items)
        self.videos = videos
        for vid in self.ids:
            for name in videos[vid]["file_names"]:
                if not (self.frames_dir / name).is_file():
                    raise DatasetLayoutError(f"{what}: missing frame {self.frames_dir / name} (video {vid})")
        if not self.ids:
            raise DatasetLayoutError(f"{what}: {self.annotations} has no person instances")

    def __len__(self) -> int:
        return len(self.ids)

    def frame_count(self, index: int) -> int:
        return len(self.videos[self.ids[index]]["file_names"])

    def frames(self, index: int, numbers: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Frames (T, H, W, 3) and person masks (T, H, W, 1)."""
        video = self.videos[self.ids[index]]
        h, w = int(video["height"]), int(video["width"])
        images, masks = [], []
        for n in numbers:
            mask = np.zeros((h, w), np.uint8)
            for per_frame in self.items[self.ids[index]]:
                if per_frame[n] is not None:
                    mask |= decode_segmentation(per_frame[n], h, w)
            images.append(read_image(self.frames_dir / video["file_names"][n], 3))
            masks.append(mask[:, :, None].astype(np.float32))
        return np.stack(images), np.stack(masks)


class PersonMaskDataset:
    """Image + mask folders (Supervisely-Person style): ROOT/img/* and ROOT/masks/*, same stems."""

    def __init__(self, root: os.PathLike):
        self.root = Path(root)
        what = "person mask layout (img/ + masks/)"
        self.img_dir, self.mask_dir = _need_dir(self.root / "img", what), _need_dir(self.root / "masks", what)
        self.names = _images(self.img_dir)
        if not self.names:
            raise DatasetLayoutError(f"{what}: no images in {self.img_dir}")
        masks = _images(self.mask_dir)
        _matching(self.names, masks, self.img_dir, self.mask_dir, what, by_stem=True)
        by_stem = {os.path.splitext(n)[0]: n for n in masks}
        self.masks = [by_stem[os.path.splitext(n)[0]] for n in self.names]

    def __len__(self) -> int:
        return len(self.names)

    def sample(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        mask = read_image(self.mask_dir / self.masks[index], 1)
        return read_image(self.img_dir / self.names[index], 3), (mask > 0.5).astype(np.float32)
