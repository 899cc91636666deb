"""The lineage sidecar of a tuned checkpoint: ``tuned.pth.rvmatte.json``.

A tuned checkpoint stays a plain official state_dict (every front end loads it);
what it was made from goes beside it: the base weights' sha256, the keyframes
(frame numbers and each file's sha256), the shot, the settings, the seed and the
steps. The sidecar names the sha256 of the checkpoint it describes, so a sidecar
left beside another file (copied over, re-tuned without it) is not believed.

The shot is recognised by its contents, not its path: the sha256 of the plate
files at the keyframes' frame numbers (a moved shot is the same shot).
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional

from rvmatte.weights import sha256_of

SUFFIX = ".rvmatte.json"
FORMAT = "rvmatte-finetune-lineage/1"


def sidecar_path(weights: str) -> str:
    return os.fspath(weights) + SUFFIX


file_sha256 = sha256_of      # one file's sha256 (rvmatte.weights)


def plate_fingerprint(source, frames) -> Dict[str, str]:
    """{frame: sha256 of the file holding that frame} for the given frames of ``source``."""
    seen: Dict[str, str] = {}
    out: Dict[str, str] = {}
    for frame in frames:
        path = source.frame_path(frame)
        if path not in seen:
            seen[path] = file_sha256(path)
        out[str(frame)] = seen[path]
    return out


def read_lineage(weights: Optional[str], weights_sha256: str = "") -> Optional[dict]:
    """The sidecar of ``weights`` if there is one that describes this very file (by sha256), else None."""
    if not weights:
        return None
    path = sidecar_path(weights)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if weights_sha256 and data.get("tuned_weights_sha256") != weights_sha256:
        return None
    return data


def made_for(lineage: dict, source) -> bool:
    """Whether ``source`` is the shot the tuned weights were made for: the same plate files at the
    keyframes' frames (or, where those cannot be read, the same path)."""
    shot = lineage.get("shot", {})
    fingerprint = shot.get("plate_sha256") or {}
    frames = [int(f) for f in fingerprint]
    if frames and all(f in set(source.frames) for f in frames):
        try:
            return plate_fingerprint(source, frames) == fingerprint
        except OSError:
            pass
    return os.path.realpath(shot.get("path", "")) == os.path.realpath(source.path)


def other_shot_warning(lineage: dict, source) -> Optional[str]:
    """The one warning of a run with tuned weights on a shot other than theirs (None when it is theirs)."""
    if made_for(lineage, source):
        return None
    shot = lineage.get("shot", {})
    return (f"the weights were fine-tuned for the shot {shot.get('path', '?')} (keyframes "
            f"{','.join(str(f) for f in lineage.get('keyframes', {}).get('frames', []))}), not {source.path}: "
            f"a tuned checkpoint is for its shot and may matte another worse than the base weights "
            f"(base sha256 {str(lineage.get('base_weights_sha256', '?'))[:12]}…)")
