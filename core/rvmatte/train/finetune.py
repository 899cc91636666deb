"""Per-shot fine-tuning: a shot and a few hand-corrected keyframe mattes → tuned weights.

Each step trains on up to three clips of ``clip`` frames, each run from an empty
recurrent state through the same operations as ``rvmatte run`` (``forward_clip``, checked
against the session in the tests); the frames before the last only build the recurrent
state (no gradient: truncated back-propagation), the last frame is supervised:

* **keyframe clip**: the plate frames leading up to a keyframe (the keyframe last, so
  the state has seen the frames before it, as in a run); the paper's alpha loss (L1 +
  Laplacian pyramid);
* **recomposite clip**: the keyframe's plate, cut out by the keyframe matte, moved over
  a smooth random colour field along a random affine path, the background on its own
  path, so the network learns the matte, not the picture;
* **distillation clip** (``distill`` > 0): frames without keyframes, supervised by the
  base network's own predictions (alpha and foreground), which keeps the network close to
  the base where no one said it was wrong.

With the encoder frozen (the default) its outputs for the plate frames are computed once.

Only the decoder side trains by default (``train="decoder"``: recurrent decoder,
projection, refiner); the encoder and LR-ASPP stay as they are. BatchNorm stays in eval
mode throughout: the shared weights carry BatchNorms folded into identity statistics,
which train mode would replace by batch statistics and change every output.

The network's alpha is clamped to 0..1; the losses see that clamped value but their
gradient passes the clamp (straight-through), so a region the base network mattes
firmly (alpha far above 1 before the clamp) can still be corrected.

Same inputs, seed and thread count → the same bytes on CPU.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from rvmatte import __version__
from rvmatte.errors import InputError, RvmatteError
from rvmatte.train.losses import alpha_loss, l1_loss

from rvmatte.train.settings import TRAINABLE, FinetuneConfig  # noqa: E402,F401 - the settings live apart from torch


def straight_through_clamp(x: torch.Tensor) -> torch.Tensor:
    """``x.clamp(0, 1)`` in value, identity in gradient."""
    return x + (x.clamp(0.0, 1.0) - x).detach()


def encode(model, x: torch.Tensor, ratio: float, pixel_aspect: float = 1.0):
    """Frames [N,3,H,W] → (x_sm, f1, f2, f3, LR-ASPP(f4)): the encoder half of the network.

    ``pixel_aspect`` ≠ 1 (anamorphic plates): the frame is resized to the network size
    ``rvmatte.session.network_size`` gives, widened so the network sees square pixels, as the
    session does."""
    if pixel_aspect != 1.0:
        height, width = x.shape[-2:]
        size = (max(1, round(height * ratio)), max(1, round(width * ratio * pixel_aspect)))
        x_sm = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    else:
        x_sm = x if ratio == 1 else F.interpolate(x, scale_factor=ratio, mode="bilinear", align_corners=False,
                                                  recompute_scale_factor=False)
    f1, f2, f3, f4 = model.backbone(x_sm)
    return x_sm, f1, f2, f3, model.aspp(f4)


def decode(model, x: torch.Tensor, encoded, state, frames: int, ratio: float, straight_through: bool = False,
           pixel_aspect: float = 1.0):
    """The decoder half: (fgr, pha, state) for ``frames`` consecutive frames (flattened [B*T,…]).
    The refiner brings the result back to the frame's stored size whenever the network saw
    another size (``ratio`` < 1, or an anamorphic plate)."""
    x_sm, f1, f2, f3, f4 = encoded
    hid, *state = model.decoder(x_sm, f1, f2, f3, f4, *state, frames)
    fgr_residual, pha = model.project_mat(hid).split([3, 1], dim=1)
    if ratio != 1 or pixel_aspect != 1.0:
        fgr_residual, pha = model.refiner(x, x_sm, fgr_residual, pha, hid)
    fgr = fgr_residual + x
    if straight_through:
        fgr, pha = straight_through_clamp(fgr), straight_through_clamp(pha)
    else:
        fgr, pha = fgr.clamp(0.0, 1.0), pha.clamp(0.0, 1.0)
    return fgr, pha, state


def forward_clip(model, src: torch.Tensor, ratio: float, straight_through: bool = False, pixel_aspect: float = 1.0):
    """src [B,T,3,H,W] sRGB-encoded 0..1, from an empty recurrent state → (fgr, pha) [B,T,C,H,W].

    The same operations as ``MattingNetwork.forward`` (which ``rvmatte run`` calls for square
    pixels): bilinear downsampling by ``ratio``, encoder, LR-ASPP, recurrent decoder walking the
    T frames, projection, the refiner when ``ratio`` < 1, clamps; for anamorphic plates those of
    the session's own forward (resized to square pixels, refiner back to the stored size).
    ``straight_through`` lets the gradient pass the clamps (training); the values are the same
    either way."""
    batch, frames = src.shape[:2]
    x = src.flatten(0, 1)
    fgr, pha, _ = decode(model, x, encode(model, x, ratio, pixel_aspect), [None] * 4, frames, ratio,
                         straight_through, pixel_aspect)
    return fgr.unflatten(0, (batch, frames)), pha.unflatten(0, (batch, frames))


def train_forward(model, frames: List[torch.Tensor], ratio: float, encoded: Optional[list] = None,
                  pixel_aspect: float = 1.0):
    """(fgr, pha) [1,1,C,H,W] of the last of ``frames`` ([3,H,W] each), with gradients, after the
    frames before it built the recurrent state without them (truncated back-propagation: only
    the supervised frame is back-propagated). ``encoded``: the frames' encoder outputs, when the
    encoder is frozen and they were computed once."""
    state = [None] * 4
    with torch.no_grad():
        for i, frame in enumerate(frames[:-1]):
            x = frame[None]
            enc = encoded[i] if encoded is not None else encode(model, x, ratio, pixel_aspect)
            _, _, state = decode(model, x, enc, state, 1, ratio, pixel_aspect=pixel_aspect)
    x = frames[-1][None]
    enc = encoded[-1] if encoded is not None else encode(model, x, ratio, pixel_aspect)
    fgr, pha, _ = decode(model, x, enc, state, 1, ratio, straight_through=True, pixel_aspect=pixel_aspect)
    return fgr[None], pha[None]


def set_trainable(model, train: str) -> List[torch.nn.Parameter]:
    """Mark the parameters that train (``TRAINABLE[train]``); BatchNorm stays in eval mode."""
    model.eval()
    prefixes = TRAINABLE[train]
    params = []
    for name, param in model.named_parameters():
        wanted = prefixes is None or name.split(".", 1)[0] in prefixes
        param.requires_grad_(wanted)
        if wanted:
            params.append(param)
    return params


def window_around(frame: int, length: int, present: set) -> List[int]:
    """Up to ``length`` contiguous frames holding ``frame``: the ones before it first (the
    keyframe last), then, near the shot's start or a hole, the ones after it."""
    window = [frame]
    while len(window) < length and window[0] - 1 in present:
        window.insert(0, window[0] - 1)
    while len(window) < length and window[-1] + 1 in present:
        window.append(window[-1] + 1)
    return window


def distill_windows(frames: Sequence[int], keyframes: Sequence[int], length: int, count: int) -> List[List[int]]:
    """Up to ``count`` windows of ``length`` contiguous frames without keyframes, spread over the shot."""
    present, keys = set(frames), set(keyframes)
    starts = [f for f in frames if all(f + i in present and f + i not in keys for i in range(length))]
    if not starts:
        return []
    picks = np.unique(np.linspace(0, len(starts) - 1, min(count, len(starts))).round().astype(int))
    return [[starts[i] + j for j in range(length)] for i in picks]


class Recomposer:
    """The keyframes' person over other backgrounds, moving: clips with exact ground truth."""

    def __init__(self, generator: torch.Generator):
        self.g = generator

    def _uniform(self, low: float, high: float, size=()) -> torch.Tensor:
        return low + (high - low) * torch.rand(size, generator=self.g)

    def _background(self, height: int, width: int) -> torch.Tensor:
        """A smooth random colour field, with fine grain half of the time. (The shot's own frames
        would bring the person back into the background, labelled 0.)"""
        cells = int(torch.randint(3, 9, (1,), generator=self.g))
        coarse = self._uniform(0.05, 0.95, (1, 3, cells, max(2, cells * width // height)))
        field = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)[0]
        if float(self._uniform(0, 1)) < 0.5:
            field = field + self._uniform(-0.05, 0.05, (1, height, width))
        return field.clamp(0, 1)

    @staticmethod
    def _moved(image: torch.Tensor, scale: float, tx: float, ty: float, padding: str) -> torch.Tensor:
        theta = torch.tensor([[[1 / scale, 0.0, -tx], [0.0, 1 / scale, -ty]]], dtype=image.dtype)
        grid = F.affine_grid(theta, [1, *image.shape], align_corners=False)
        return F.grid_sample(image[None], grid, mode="bilinear", padding_mode=padding, align_corners=False)[0]

    def clip(self, colour: torch.Tensor, alpha: torch.Tensor, length: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """colour [3,H,W], alpha [1,H,W] → (com [1,T,3,H,W], alpha [1,T,1,H,W])."""
        height, width = alpha.shape[-2:]
        background = self._background(height, width)
        start = self._uniform(-0.15, 0.15, (2,))
        speed = self._uniform(-0.04, 0.04, (2,))
        scale = float(self._uniform(0.85, 1.1))
        zoom = float(self._uniform(-0.01, 0.01))
        bg_speed = self._uniform(-0.03, 0.03, (2,))
        flip = float(self._uniform(0, 1)) < 0.5
        coms, alphas = [], []
        for t in range(length):
            s = scale * (1 + zoom * t)
            tx, ty = (start + speed * t).tolist()
            fg_c = self._moved(colour, s, tx, ty, "zeros")
            fg_a = self._moved(alpha, s, tx, ty, "zeros").clamp(0, 1)
            bx, by = (bg_speed * t).tolist()
            bg = self._moved(background, 1.05, bx, by, "reflection")
            com = fg_c * fg_a + bg * (1 - fg_a)
            if flip:
                com, fg_a = com.flip(-1), fg_a.flip(-1)
            coms.append(com)
            alphas.append(fg_a)
        return torch.stack(coms)[None], torch.stack(alphas)[None]


@dataclass
class ShotData:
    """What a fine-tune reads from a shot: model inputs of the frames it trains on."""

    source: object
    ratio: float
    keyframes: object                         # rvmatte.train.keyframes.Keyframes
    plates: Dict[int, torch.Tensor]           # frame → [3,H,W] sRGB-encoded model input
    key_windows: Dict[int, List[int]]
    distill_windows: List[List[int]]
    input_colorspace: str
    pixel_aspect: float = 1.0
    masks: object = None                      # rvmatte.masks.Masks (holdout / garbage), or None
    keep: Dict[int, torch.Tensor] = dataclasses.field(default_factory=dict)   # frame → [1,1,H,W] mask factor

    def supervised_frames(self) -> List[int]:
        """The frames a loss looks at: the keyframes and the last frame of each distillation window."""
        return sorted(set(self.keyframes.frames) | {w[-1] for w in self.distill_windows})


def read_shot(shot: str, keyframes: str, config: FinetuneConfig, *, layer=None, start_frame=None,
              input_colorspace=None, ocio_config=None, downsample_ratio="auto", holdout=None, garbage=None,
              warn=None) -> ShotData:
    """Open the shot and its keyframes (checked: size, frames, channels) and read the frames used.

    ``holdout`` / ``garbage``: the matte sequences ``rvmatte run`` takes (rvmatte.masks). Their
    factor ``garbage × (1 − holdout)`` at each supervised frame is kept in ``keep``; the losses
    multiply both sides by it, so what the masks decide plays no part in training."""
    from rvmatte.engine import clean_nonfinite
    from rvmatte.io import open_input
    from rvmatte.io.colour import ColourPipeline, default_input_colorspace
    from rvmatte.session import auto_downsample_ratio, usable_ratio
    from rvmatte.train.keyframes import Keyframes

    warn = warn or (lambda message: None)
    from rvmatte.masks import Masks

    source = open_input(shot, layer=layer, start_frame=start_frame)
    keys = Keyframes(keyframes, source.frames, source.width, source.height)
    masks = Masks(holdout, garbage)
    space = input_colorspace
    if not space:
        space, note = default_input_colorspace(source, ocio_config)
        if note:
            warn(note)
    colour = ColourPipeline(space, None, ocio_config)
    present = set(source.frames)
    key_windows = {k: window_around(k, config.clip, present) for k in keys.frames}
    windows = distill_windows(source.frames, keys.frames, config.clip, 6) if config.distill > 0 else []
    wanted = sorted({f for w in list(key_windows.values()) + windows for f in w})
    direct = not source.is_float and colour.input_space == colour.model_space
    plates: Dict[int, torch.Tensor] = {}
    for plate in source.read(wanted):
        if getattr(plate, "warning", None):
            warn(plate.warning)
        if direct:
            rgb = plate.rgb
        else:
            if clean_nonfinite(plate.rgb):
                warn(f"frame {plate.frame}: NaN/inf values replaced by 0 ({plate.path})")
            rgb = colour.to_model(plate.rgb)
        plates[plate.frame] = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1).contiguous()
    aspect = source.pixel_aspect
    asked = (auto_downsample_ratio(source.height, source.width, aspect) if downsample_ratio == "auto"
             else float(downsample_ratio))
    ratio = usable_ratio(asked, source.height, source.width, aspect)
    data = ShotData(source, ratio, keys, plates, key_windows, windows, colour.input_space, aspect,
                    masks if masks else None)
    if masks:
        frames = data.supervised_frames()
        masks.check(frames, source.width, source.height)
        data.keep = {f: torch.from_numpy(np.ascontiguousarray(masks.keep(f), np.float32))[None, None]
                     for f in frames}
    return data


def finetune(model, data: ShotData, config: FinetuneConfig, *, precision: str = "float32",
             on_step=None) -> dict:
    """Train ``model`` (float32, on its device) in place on the shot; returns a summary.
    ``on_step(done, total, loss)`` is called after each step."""
    config.check()
    device = next(model.parameters()).device
    params = set_trainable(model, config.train)
    torch.manual_seed(config.seed)
    g = torch.Generator().manual_seed(config.seed)
    keys = data.keyframes
    plates = {f: p.to(device) for f, p in data.plates.items()}
    keep = {f: k.to(device) for f, k in data.keep.items()}      # [1,1,H,W] mask factor per supervised frame

    def kept(image: torch.Tensor, frame: int) -> torch.Tensor:
        """``image`` [1,1,C,H,W] where the holdout / garbage mattes let the alpha through (× their factor)."""
        return image * keep[frame] if frame in keep else image

    truth = {k: kept(torch.from_numpy(keys.alpha[k])[None, None, None].to(device), k) for k in keys.frames}
    cutout = {k: (torch.from_numpy(keys.alpha[k])[None] * data.keep[k][0] if k in data.keep
                  else torch.from_numpy(keys.alpha[k])[None]) for k in keys.frames}
    aspect = data.pixel_aspect
    recomposer = Recomposer(g)
    autocast = _autocast(device, precision)
    frozen_encoder = config.train == "decoder"
    encoded: Dict[int, tuple] = {}
    base: List[Tuple[torch.Tensor, torch.Tensor]] = []
    with torch.no_grad(), autocast():
        if frozen_encoder:                        # the encoder's outputs never change: compute them once
            for frame, plate in plates.items():
                encoded[frame] = encode(model, plate[None], data.ratio, aspect)
        for window in data.distill_windows:
            fgr, pha = forward_clip(model, torch.stack([plates[f] for f in window])[None], data.ratio,
                                    pixel_aspect=aspect)
            base.append((kept(fgr[:, -1:].float(), window[-1]), kept(pha[:, -1:].float(), window[-1])))

    def plate_forward(window):
        return train_forward(model, [plates[f] for f in window], data.ratio,
                             [encoded[f] for f in window] if frozen_encoder else None, aspect)

    optimizer = torch.optim.Adam(params, lr=config.lr) if params and config.steps else None
    scaler = torch.amp.GradScaler(device.type) if precision == "float16" and device.type == "cuda" else None
    losses: List[float] = []
    started = time.perf_counter()
    for step in range(config.steps if optimizer else 0):
        key = keys.frames[step % len(keys.frames)]
        window = data.key_windows[key][:data.key_windows[key].index(key) + 1]
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            _, pha = plate_forward(window)
            loss = alpha_loss(kept(pha.float(), key), truth[key], coherence=False)
            if config.recomposite:
                com, com_alpha = recomposer.clip(data.plates[key], cutout[key], config.clip)
                _, pha = train_forward(model, list(com[0].to(device)), data.ratio, pixel_aspect=aspect)
                loss = loss + alpha_loss(pha.float(), com_alpha[:, -1:].to(device), coherence=False)
            if base and config.distill > 0:
                index = step % len(base)
                last = data.distill_windows[index][-1]
                fgr, pha = plate_forward(data.distill_windows[index])
                base_fgr, base_pha = base[index]
                loss = loss + config.distill * (alpha_loss(kept(pha.float(), last), base_pha, coherence=False)
                                                + l1_loss(kept(fgr.float(), last), base_fgr))
        if not torch.isfinite(loss):
            raise RvmatteError(f"fine-tune step {step + 1}: the loss is not finite ({float(loss)}): "
                               f"lower --lr (now {config.lr:g})")
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step + 1, config.steps, losses[-1])
    for param in model.parameters():
        param.requires_grad_(False)
    model.eval()
    return {"steps": len(losses), "losses": losses, "seconds": round(time.perf_counter() - started, 3),
            "trainable_parameters": int(sum(p.numel() for p in params))}


def _autocast(device, precision: str):
    """A context factory: autocast to float16/bfloat16, or nothing for float32."""
    import contextlib

    if precision == "float32":
        return contextlib.nullcontext
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[precision]
    if device.type == "cpu" and dtype == torch.float16:
        raise InputError("--precision float16 fine-tunes on CUDA only: use bfloat16 or float32 on a CPU")
    return lambda: torch.autocast(device.type, dtype=dtype)


def state_dict_bytes(model) -> bytes:
    """The model's official-layout state_dict as ``torch.save`` bytes (float32, CPU, contiguous).
    Saved through memory so the archive's inner name never depends on the (temp) file name."""
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def save_tuned(path: str, model, lineage: dict) -> str:
    """Write ``path`` (the state_dict) and its sidecar atomically; returns the checkpoint's sha256.

    Each file is written to a temp file beside it and renamed: a failure leaves the previous
    files as they were and no half-written file. The checkpoint is renamed first; the sidecar
    names the checkpoint's sha256, so a sidecar that ends up beside another file is ignored."""
    import hashlib

    from rvmatte.io.writing import _write_bytes_atomically
    from rvmatte.train.lineage import sidecar_path

    data = state_dict_bytes(model)
    sha = hashlib.sha256(data).hexdigest()
    text = json.dumps({**lineage, "tuned_weights_sha256": sha}, indent=2, sort_keys=True) + "\n"
    _write_bytes_atomically(os.fspath(path), data)
    _write_bytes_atomically(sidecar_path(path), text.encode("utf-8"))
    return sha


def lineage_of(data: ShotData, config: FinetuneConfig, model, summary: dict, *, precision: str,
               device: str) -> dict:
    from rvmatte.train.lineage import FORMAT, plate_fingerprint

    source, keys = data.source, data.keyframes
    return {
        "format": FORMAT,
        "rvmatte_version": __version__,
        "base_weights": getattr(model, "weights_path", None),
        "base_weights_sha256": getattr(model, "weights_sha256", ""),
        "variant": getattr(model, "variant", None),
        "refiner": getattr(model, "refiner_name", None),
        "shot": {"path": os.path.abspath(source.path), "name": source.name, "width": source.width,
                 "height": source.height, "pixel_aspect": source.pixel_aspect, "first": source.first,
                 "last": source.last,
                 "input_colorspace": data.input_colorspace,
                 "plate_sha256": plate_fingerprint(source, keys.frames)},
        "keyframes": {"pattern": os.path.abspath(keys.path), "frames": list(keys.frames),
                      "sha256": {str(f): keys.sha256[f] for f in keys.frames}},
        "masks": masks_fingerprint(data),
        "config": dataclasses.asdict(config),
        "seed": config.seed,
        "steps": summary["steps"],
        "downsample_ratio": data.ratio,
        "precision": precision,
        "device": device,
        "final_loss": summary["losses"][-1] if summary["losses"] else None,
    }


def masks_fingerprint(data: ShotData) -> dict:
    """{"holdout"/"garbage": {"pattern", "sha256": {frame: sha256 of the file it reads}}} for the
    frames the losses look at (the only ones the masks act on); {} without masks."""
    from rvmatte.weights import sha256_of

    out: dict = {}
    masks = data.masks
    for name in ("holdout", "garbage"):
        sequence = getattr(masks, name, None) if masks else None
        if sequence is None:
            continue
        seen: Dict[str, str] = {}
        shas = {}
        for frame in data.supervised_frames():
            path = sequence.frame_path(1 if sequence.still else frame)
            if path not in seen:
                seen[path] = sha256_of(path)
            shas[str(frame)] = seen[path]
        out[name] = {"pattern": os.path.abspath(sequence.hashes), "sha256": shas}
    return out
