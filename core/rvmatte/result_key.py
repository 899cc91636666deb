"""The result key: one digest of everything that decides what a written frame holds.

``--resume`` and ``rvmatte farm status`` keep a frame only if the key stored with it
(EXR header ``rvmatte/result_key``, or a sidecar ``.rvmatte/<file name>.json`` beside
formats without room for our header) equals the key of the run at hand. So that no
later option can be forgotten, every option of ``rvmatte run`` is classified here, as
result-affecting or not, and ``tests/core/test_result_key.py`` fails when one is
missing. Adding a ``run`` option means adding it to one of the two dicts below (and,
if it affects results, to ``result_fields``).

Inputs are identified by what they are, not where they are: the plate by its frame
size, pixel aspect and colour space; holdout/garbage mattes and the weights by the
sha256 of their contents. A moved or renamed shot keeps its frames; a re-rendered
matte with the same name does not.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Iterable, Optional, Tuple

#: ``rvmatte run`` options (argparse dest) that change the pixels or the stored values of a frame.
RESULT_AFFECTING: Dict[str, str] = {
    "input": "the plate: identified by frame size, pixel aspect and colour space, not its path",
    "input_id": "the host's identity of the plate's contents (e.g. a hash of its node graph), which the key "
                "otherwise knows only by size (keyed only when given, so earlier keys stay valid)",
    "layer": "which EXR layer is matted",
    "start_frame": "movies: which picture a frame number stands for",
    "input_colorspace": "how the plate is converted for the network (the resolved space is keyed)",
    "ocio_config": "the colour conversions (a config file is keyed by its contents)",
    "output_colorspace": "the space EXR outputs are written in (the resolved space is keyed)",
    "foreground_source": "edge band, model's decontaminated colour or plate × alpha",
    "foreground": "the words edge/model/plate set the foreground source (a pattern only says where)",
    "weights": "the network's weights, keyed by the sha256 of the file's contents",
    "variant": "the network's encoder",
    "refiner": "the network's upsampler",
    "precision": "the arithmetic the network runs in",
    "downsample_ratio": "the network's resolution (the resolved ratio is keyed, 'auto' included)",
    "warmup": "how the state is built where it starts empty",
    "ensemble": "the streams combined into each frame (and the reverse stream's block and postroll)",
    "reset_at": "where the recurrent state is cleared",
    "detect_cuts": "whether the state is cleared at detected cuts",
    "holdout": "forces alpha to 0; keyed by the sha256 of the matte files, not their paths",
    "garbage": "keeps alpha only inside it; keyed by the sha256 of the matte files, not their paths",
    "bit_depth": "half or float EXR values",
    "compression": "EXR compression (dwaa/dwab are lossy)",
    "background_colour": "the composite's colour",
    "background": "the composite's background (keyed by its file name pattern and frame size)",
    "target": "who is kept (people pass): the mask contents (sha256) and frames, not their paths "
              "(people_key)",
    "target_point": "who is kept (people pass): the points and frames themselves (people_key)",
    "people": "how many persons the people pass splits (people_key)",
    "backend": "the inference engine and its version (oneDNN-based backends differ in round-off; "
               "the resolved backend is keyed, 'auto' included)",
    "deterministic": "GPU arithmetic: TF32 off and fixed cuDNN algorithms change a float32 GPU run's bits "
                     "(keyed only when on, so earlier keys stay valid)",
}

#: ``rvmatte run`` options that decide where, how fast, or which frames, but not what a frame holds.
NOT_RESULT_AFFECTING: Dict[str, str] = {
    "output_dir": "where the default passes go",
    "alpha": "where the alpha pass goes",
    "no_alpha": "which passes are written",
    "no_foreground": "which passes are written",
    "composite": "where the composite goes",
    "segmentation": "where the segmentation pass goes",
    "confidence": "where the confidence pass goes (computed from the streams, never changes them)",
    "contact_sheet": "a review image, never kept by --resume",
    "fps": "movie outputs only, which --resume never keeps",
    "bitrate": "movie outputs only, which --resume never keeps",
    "device": "the same arithmetic on another processor (float round-off only)",
    "seq_chunk": "frames per forward: alpha within one half-float step (docs/farm.md)",
    "threads": "alpha within one half-float step (docs/farm.md)",
    "writers": "how many threads write",
    "fold_batchnorm": "the same network, folded (float round-off only)",
    "compile": "the same network, compiled (float round-off only)",
    "cuda_graphs": "the same kernels, launched from a captured graph (float round-off at most)",
    "frames": "which frames are written; a frame's key does not depend on its chunk",
    "preroll": "how a chunk's state is warmed; chunked runs stand for one run (docs/farm.md)",
    "resume": "whether complete frames are kept",
    "versions": "which folder the outputs go in (the version is chosen by the key, never part of it)",
    "keep_versions": "which older version folders are removed",
    "version_step": "which farm task of a versioned job runs; the version is chosen by the key",
    "people_step": "which farm task of the people pass runs; the three together are the whole-shot run",
    "progress": "how progress is reported",
    "debug": "whether tracebacks are shown",
}

#: ``rvmatte finetune`` options. A tuned checkpoint reaches a run's key through the sha256 of its
#: contents (``weights`` above), so each of these is result-affecting only through the file it makes;
#: listed so that none is forgotten (``tests/core/train/test_train_finetune_cli.py``).
FINETUNE_OPTIONS: Dict[str, str] = {
    "input": "the shot trained on (recorded in the sidecar)",
    "layer": "which EXR layer is read",
    "start_frame": "movies: which picture a frame number stands for",
    "input_colorspace": "how the plate is converted for the network",
    "ocio_config": "the colour conversions",
    "keyframes": "the supervision (each file's sha256 in the sidecar)",
    "holdout": "left out of the losses where it holds (its files' sha256 at the supervised frames in the sidecar)",
    "garbage": "left out of the losses outside it (its files' sha256 at the supervised frames in the sidecar)",
    "output": "where the tuned weights go (not in them)",
    "weights": "the base weights (sha256 in the sidecar)",
    "variant": "the network's encoder",
    "refiner": "the network's upsampler",
    "device": "where it trains (CPU: the same bytes for the same inputs, seed and threads)",
    "precision": "the arithmetic of the training forward (the weights stay float32)",
    "downsample_ratio": "the resolution it trains at",
    "steps": "how long it trains",
    "lr": "how far each step goes",
    "train": "which weights train",
    "clip": "frames per training clip",
    "distill": "how close to the base it is kept",
    "recomposite": "whether recomposited clips are trained on",
    "seed": "the random recomposites",
    "threads": "float reduction order on CPU (the same count gives the same bytes)",
    "progress": "how progress is reported",
    "debug": "whether tracebacks are shown",
    "force": "redo a fine-tune whose output already matches its inputs (else skipped)",
}

#: Bumped when the fields or their meaning change (frames of an older key are redone).
_KEY_VERSION = 1


def sha256_of_file(path: str) -> str:
    from rvmatte.weights import sha256_of

    return sha256_of(path)


def sha256_of_files(paths: Iterable[str]) -> str:
    """One digest of several files' contents, in the given order (names play no part)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(sha256_of_file(path).encode())
    return digest.hexdigest()


def matte_sha256(sequence) -> Optional[str]:
    """The contents of a holdout/garbage MatteSequence (every file of it, by frame), or None."""
    if sequence is None:
        return None
    frames = [1] if sequence.still else list(sequence.frames)
    return sha256_of_files(sequence.frame_path(f) for f in frames)


#: Bumped when the people pass (regions, flow, watershed) changes what it writes for the same inputs.
PEOPLE_VERSION = 1


def target_mask_identity(sequence) -> dict:
    """A target mask by its contents and the frames it is on (a blob moved to another frame picks
    someone else there), never by its path."""
    frames = [1] if sequence.still else list(sequence.frames)
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(f"{frame}:{sha256_of_file(sequence.frame_path(frame))};".encode())
    return {"still": bool(sequence.still), "sha256": digest.hexdigest()}


def people_fields(people, count: Optional[int] = None) -> dict:
    """What decides who is who in the people pass: per person, in order, its name, its masks'
    contents and its points (pixel and frame). Paths play no part."""
    return {
        "version": PEOPLE_VERSION,
        "count": count,
        "persons": [{"name": p.name,
                     "masks": [target_mask_identity(m) for m in p.masks],
                     "points": [[int(q.x), int(q.y), int(q.frame)] for q in p.points]} for p in people],
    }


def people_key(matte_fields: Optional[dict], people, count: Optional[int] = None) -> Tuple[str, dict]:
    """(key, fields) of what the people pass writes: the key fields of the matte it splits
    (garbage and holdout among them: masks apply garbage → holdout → target) plus ``people``.
    ``matte_fields`` None: a matte without a recorded key, known only as such."""
    fields = dict(matte_fields) if matte_fields else {"matte": "no result key recorded"}
    fields["people"] = people_fields(people, count)
    return key_of(fields), fields


def _config_identity(config: Optional[str]) -> Optional[str]:
    """A config file by its contents, a built-in (``ocio://…``) or absent config by its name."""
    if config and os.path.isfile(config):
        return "sha256:" + sha256_of_file(config)
    return config or None


def result_fields(options, *, width: int, height: int, pixel_aspect: float, input_colorspace: str,
                  output_colorspace: str, weights_sha256: str, downsample_ratio: float,
                  ocio_config: Optional[str] = None, variant: Optional[str] = None,
                  refiner: Optional[str] = None, precision: Optional[str] = None,
                  holdout_sha256: Optional[str] = None, garbage_sha256: Optional[str] = None,
                  background: Optional[Tuple[str, int, int]] = None, backend: Optional[str] = None) -> dict:
    """The values the key is made of, from RunOptions and the resolved inputs.

    Resolved values win over the options: the ratio a run used (not ``auto``), the
    colour spaces it picked, the network it loaded (``variant``/``refiner``/``precision``
    of an already loaded model). Every RESULT_AFFECTING option is represented."""
    o = options
    fields = {
        "key_version": _KEY_VERSION,
        "plate_width": int(width),
        "plate_height": int(height),
        "pixel_aspect": float(pixel_aspect),
        "layer": o.layer or None,
        "start_frame": o.start_frame,
        "input_colorspace": input_colorspace,
        "output_colorspace": output_colorspace,
        "ocio_config": _config_identity(ocio_config if ocio_config is not None else o.ocio_config),
        "weights_sha256": weights_sha256 or "",
        "variant": variant or o.variant,
        "refiner": refiner or o.refiner,
        "precision": precision or o.precision,
        "downsample_ratio": float(downsample_ratio),
        "warmup": int(o.warmup),
        "reset_at": sorted(int(f) for f in (o.reset_at or [])),
        "detect_cuts": bool(o.detect_cuts),
        "holdout_sha256": holdout_sha256,
        "garbage_sha256": garbage_sha256,
        "bit_depth": o.bit_depth,
        "compression": (o.compression or "zip").lower(),
        "background_colour": list(o.background_colour) if o.background_colour else None,
        "background": list(background) if background else None,
        "backend": backend or getattr(o, "backend", "torch"),
    }
    if getattr(o, "deterministic", False):
        fields["deterministic"] = True
    if getattr(o, "input_id", None):
        fields["input_id"] = str(o.input_id)
    from rvmatte.passes import key_fields

    fields.update(key_fields(o))              # what the output passes add (the foreground source and band)
    if getattr(o, "ensemble", None):          # absent for one stream: keys of single-stream runs are unchanged
        from rvmatte.ensemble import REVERSE_BLOCK, REVERSE_POSTROLL, has_reverse, parse_ensemble

        streams = parse_ensemble(o.ensemble)
        fields["ensemble"] = [s.name for s in streams]
        if has_reverse(streams):
            fields["reverse_block"] = [REVERSE_BLOCK, REVERSE_POSTROLL]
    return fields


def key_of(fields: dict) -> str:
    """A short hex digest (16 characters) of the fields."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def result_key(options, **resolved) -> Tuple[str, dict]:
    """(key, fields) for a run: see result_fields for the arguments."""
    fields = result_fields(options, **resolved)
    return key_of(fields), fields


def differences(old: dict, new: dict) -> str:
    """``"downsample_ratio 0.4 → 0.25, bit_depth float → half"``: what changed between two field dicts."""
    changed = []
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changed.append(f"{name} {_short(old.get(name))} → {_short(new.get(name))}")
    return ", ".join(changed)


def _short(value) -> str:
    text = "none" if value is None else str(value)
    return text[:12] + "…" if len(text) > 16 and all(c in "0123456789abcdef" for c in text) else text
