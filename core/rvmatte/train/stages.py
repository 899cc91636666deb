"""The four-stage training schedule: stages read from TOML over the paper's defaults.

A stage says which matting data it trains on, for how many epochs, with which clip length
and size range, whether each step adds a high-resolution pass through the refiner, and one
learning rate per module group. ``param_groups`` turns a stage into Adam's parameter groups;
``batch_kinds`` gives the order in which matting and segmentation batches alternate.
"""
from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from torch import nn

from rvmatte.errors import InputError

PAPER_CONFIG = Path(__file__).with_name("paper.toml")
GROUPS = ("backbone", "aspp", "decoder", "refiner")
GROUP_MODULES = {                       # module names of MattingNetwork in each group
    "backbone": ("backbone",),
    "aspp": ("aspp",),
    "decoder": ("decoder", "project_mat", "project_seg"),
    "refiner": ("refiner",),
}
MATTING_KINDS = ("videomatte", "imagematte")
DATA_KEYS = ("videomatte", "imagematte", "background_videos", "background_images", "coco_json", "coco_images",
             "person_masks", "youtubevis")


@dataclass(frozen=True)
class HighRes:
    seq_length: int
    size: Tuple[int, int]
    downsample_ratio: float


@dataclass(frozen=True)
class Stage:
    name: str
    matting: str
    epochs: int
    seq_length: int
    size: Tuple[int, int]
    refiner: bool
    lr: Dict[str, float]
    high_res: Optional[HighRes] = None


@dataclass(frozen=True)
class Schedule:
    stages: List[Stage]
    variant: str = "mobilenetv3"
    batch_size: int = 4
    segmentation: bool = True
    seed: int = 0
    source: str = field(default=str(PAPER_CONFIG))
    data: Dict[str, str] = field(default_factory=dict)

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise InputError(f"--stage: no stage {name!r} in {self.source} "
                         f"(it has {', '.join(s.name for s in self.stages)})")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _size(where: str, value) -> Tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) for v in value)
            or not 0 < value[0] <= value[1]):
        raise InputError(f"{where}: size must be [min, max] pixels with 0 < min <= max, not {value!r}")
    return value[0], value[1]


def _positive_int(where: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{where} must be a whole number >= 1, not {value!r}")
    return value


def _stage(source: str, name: str, raw: dict) -> Stage:
    where = f"{source}: [stage.{name}]"
    known = {"matting", "epochs", "seq_length", "size", "refiner", "lr", "high_res"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    if raw.get("matting") not in MATTING_KINDS:
        raise InputError(f"{where}: matting must be one of {', '.join(MATTING_KINDS)}, not {raw.get('matting')!r}")
    lr = raw.get("lr", {})
    bad = sorted(set(lr) - set(GROUPS)) or [g for g in GROUPS if g not in lr]
    if bad:
        raise InputError(f"{where}: lr needs exactly the groups {', '.join(GROUPS)} (problem: {bad[0]!r})")
    for group, value in lr.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise InputError(f"{where}: lr.{group} must be a number >= 0, not {value!r}")
    high = raw.get("high_res")
    if high is not None:
        ratio = high.get("downsample_ratio")
        if not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
            raise InputError(f"{where}: high_res.downsample_ratio must be in (0, 1], not {ratio!r}")
        high = HighRes(_positive_int(f"{where}: high_res.seq_length", high.get("seq_length")),
                       _size(f"{where}: high_res", high.get("size")), float(ratio))
    return Stage(name=name, matting=raw["matting"],
                 epochs=_positive_int(f"{where}: epochs", raw.get("epochs")),
                 seq_length=_positive_int(f"{where}: seq_length", raw.get("seq_length")),
                 size=_size(where, raw.get("size")), refiner=bool(raw.get("refiner", False)),
                 lr={g: float(lr[g]) for g in GROUPS}, high_res=high)


def load_schedule(path: Optional[str] = None) -> Schedule:
    """The paper's schedule, with ``path``'s keys (a TOML file) laid over it."""
    with open(PAPER_CONFIG, "rb") as f:
        raw = tomllib.load(f)
    source = str(PAPER_CONFIG)
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as f:
                raw = _merge(raw, tomllib.load(f))
        except OSError as error:
            raise InputError(f"--config: cannot read {path}: {error.strerror or error}") from None
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"--config: {path} is not valid TOML: {error}") from None
    common = raw.get("common", {})
    stages = [_stage(source, str(name), body) for name, body in raw.get("stage", {}).items()]
    if not stages:
        raise InputError(f"{source}: no [stage.N] tables")
    data = raw.get("data", {})
    unknown = sorted(set(data) - set(DATA_KEYS))
    if unknown:
        raise InputError(f"{source}: [data] has unknown key {unknown[0]!r} (known: {', '.join(DATA_KEYS)})")
    return Schedule(stages=stages, variant=str(common.get("variant", "mobilenetv3")),
                    batch_size=_positive_int(f"{source}: [common] batch_size", common.get("batch_size", 4)),
                    segmentation=bool(common.get("segmentation", True)), seed=int(common.get("seed", 0)),
                    source=source, data={k: str(v) for k, v in data.items()})


def param_groups(model: nn.Module, stage: Stage) -> List[dict]:
    """Adam parameter groups of ``model`` for ``stage``: one per module group, each with its lr.
    Every parameter is in exactly one group (an unknown module is an error, not left out)."""
    groups, seen = [], set()
    for group in GROUPS:
        params = [p for module in GROUP_MODULES[group] for p in getattr(model, module).parameters()]
        seen.update(id(p) for p in params)
        groups.append({"name": group, "params": params, "lr": stage.lr[group]})
    missing = [name for name, p in model.named_parameters() if id(p) not in seen]
    if missing:
        raise ValueError(f"parameters outside every learning-rate group: {missing[:3]}")
    return groups


def batch_kinds(matting_steps: int, segmentation: bool = True, start: int = 0) -> Iterator[str]:
    """The batch order of one stage: every matting iteration ``i`` (1-based) is followed by an
    image-segmentation batch when ``i`` is odd and a video-segmentation batch when it is even
    (section 4.2: image segmentation, T = 1, keeps the first-frame path working without memory).
    ``start`` skips the first matting iterations (a resumed run)."""
    for i in range(start + 1, matting_steps + 1):
        yield "matting"
        if segmentation:
            yield "image_segmentation" if i % 2 else "video_segmentation"
