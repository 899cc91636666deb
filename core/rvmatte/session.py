"""A streaming matting session: frames in order, recurrent state carried.

The session is the piece every front end shares (the CLI pipeline, hosts running
in-process, notebooks): give it sRGB-encoded frames in shot order and it returns
alpha and the model's foreground, remembering r1..r4 between calls.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

AUTO_RESOLUTION = 512


def auto_downsample_ratio(height: int, width: int, pixel_aspect: float = 1.0) -> float:
    """RVM's rule of thumb: bring the longer side to about 512 px (never upscale)."""
    return min(AUTO_RESOLUTION / max(height, width * pixel_aspect), 1.0)


def network_size(height: int, width: int, ratio: float, pixel_aspect: float = 1.0) -> Tuple[int, int]:
    """(height, width) the network's encoder sees for a frame at ``ratio``: floored like
    ``F.interpolate(scale_factor=...)`` for square pixels, rounded (at least 1) for anamorphic ones."""
    if pixel_aspect != 1.0:
        return max(1, round(height * ratio)), max(1, round(width * ratio * pixel_aspect))
    if ratio == 1:
        return height, width
    return math.floor(height * ratio), math.floor(width * ratio)


def usable_ratio(ratio: float, height: int, width: int, pixel_aspect: float = 1.0) -> float:
    """``ratio``, raised where needed so each side of the network's image keeps at least one
    pixel (a 10000x16 plate at the auto ratio, or ``--downsample-ratio 0.001``, would give 0 rows,
    which the network cannot take). The encoder takes any size from 1x1 up: no stride padding
    is needed."""
    if min(network_size(height, width, ratio, pixel_aspect)) >= 1:
        return ratio
    smallest = min(height, width)
    raised = 1.0 / smallest
    while math.floor(smallest * raised) < 1:
        raised = math.nextafter(raised, 2.0)
    return min(raised, 1.0)


class Session:
    """Frame-by-frame RVM inference.

    ``downsample_ratio`` is ``"auto"`` or a float. ``pixel_aspect`` > 1 (anamorphic)
    widens the downsampled image so the network sees square pixels. ``device`` and
    ``dtype`` default to the model's parameters'; a frozen TorchScript model has none,
    so they must be given for it.
    """

    def __init__(self, model, *, downsample_ratio: Union[str, float] = "auto", pixel_aspect: float = 1.0,
                 device=None, dtype=None):
        self.model = model
        if device is None or dtype is None:
            param = next(iter(model.parameters()), None)
            if param is None:
                raise ValueError("the model has no parameters (a frozen TorchScript model?): "
                                 "give its device and dtype")
            device = param.device if device is None else device
            dtype = param.dtype if dtype is None else dtype
        self.device, self.dtype = torch.device(device), dtype
        self.downsample_ratio = downsample_ratio
        self.pixel_aspect = float(pixel_aspect)
        self.state: List[Optional[torch.Tensor]] = [None] * 4

    def reset(self) -> None:
        self.state = [None] * 4

    def ratio_for(self, height: int, width: int) -> float:
        return usable_ratio(self._asked_ratio(height, width), height, width, self.pixel_aspect)

    def _asked_ratio(self, height: int, width: int) -> float:
        if self.downsample_ratio == "auto":
            return auto_downsample_ratio(height, width, self.pixel_aspect)
        return float(self.downsample_ratio)

    def ratio_note(self, height: int, width: int) -> Optional[str]:
        """A warning when the ratio asked for was raised to keep a pixel per side (else None)."""
        asked, used = self._asked_ratio(height, width), self.ratio_for(height, width)
        if used == asked:
            return None
        rows, cols = network_size(height, width, asked, self.pixel_aspect)
        new_rows, new_cols = network_size(height, width, used, self.pixel_aspect)
        return (f"downsample ratio {asked:g} gives the network {cols}x{rows} pixels for a {width}x{height} plate; "
                f"using {used:.6g} ({new_cols}x{new_rows})")

    @torch.inference_mode()
    def infer(self, src: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """src [T,3,H,W] (any float dtype/device) → pha [T,1,H,W], fgr [T,3,H,W] as float32 on the model's device."""
        src = src.to(self.device, self.dtype, non_blocking=True).unsqueeze(0)      # [1,T,3,H,W]
        height, width = src.shape[-2:]
        ratio = self.ratio_for(height, width)
        if self.pixel_aspect == 1.0:
            fgr, pha, *self.state = self.model(src, *self.state, downsample_ratio=ratio)
        else:
            fgr, pha, _ = self._forward(src, ratio, segmentation=False)
        return pha[0].float(), fgr[0].float()

    @torch.inference_mode()
    def infer_with_segmentation(self, src: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like ``infer``, plus the segmentation probability [T,1,H,W] (sigmoid of the
        segmentation head, upsampled to the frame) from the same forward pass."""
        src = src.to(self.device, self.dtype, non_blocking=True).unsqueeze(0)
        height, width = src.shape[-2:]
        fgr, pha, seg = self._forward(src, self.ratio_for(height, width), segmentation=True)
        return pha[0].float(), fgr[0].float(), seg[0].float()

    def _forward(self, src: torch.Tensor, ratio: float, segmentation: bool):
        """The network's forward written out, for what its own forward cannot give: separate
        x/y scales (anamorphic plates) and both heads from one pass (the segmentation pass)."""
        model = self.model
        frames = src.shape[1]
        x = src.flatten(0, 1)
        height, width = x.shape[-2:]
        if self.pixel_aspect == 1.0:
            refine = ratio != 1
            x_sm = x if not refine else F.interpolate(x, scale_factor=ratio, mode="bilinear", align_corners=False,
                                                      recompute_scale_factor=False)
        else:
            refine = True
            size = (max(1, round(height * ratio)), max(1, round(width * ratio * self.pixel_aspect)))
            x_sm = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        f1, f2, f3, f4 = model.backbone(x_sm)
        hid, *self.state = model.decoder(x_sm, f1, f2, f3, model.aspp(f4),
                                         *self.state, frames)
        fgr_residual, pha = model.project_mat(hid).split([3, 1], dim=1)
        if refine:
            fgr_residual, pha = model.refiner(x, x_sm, fgr_residual, pha, hid)
        fgr = (fgr_residual + x).clamp(0.0, 1.0).unflatten(0, (1, frames))
        pha = pha.clamp(0.0, 1.0).unflatten(0, (1, frames))
        seg = None
        if segmentation:
            logits = model.project_seg(hid)
            if logits.shape[-2:] != (height, width):
                logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
            seg = torch.sigmoid(logits).unflatten(0, (1, frames))
        return fgr, pha, seg

    def step(self, rgb: Union[np.ndarray, torch.Tensor]) -> Tuple[np.ndarray, np.ndarray]:
        """One frame, HxWx3 sRGB-encoded in 0..1 → (alpha HxW, foreground HxWx3), float32 numpy.

        The foreground is the network's own: straight (not premultiplied) decontaminated colour,
        sRGB-encoded in 0..1, like the original's ``fgr``. For what ``rvmatte run`` writes to an
        EXR foreground pass, use ``step_premultiplied``.
        """
        pha, fgr = self.run(rgb[None])
        return pha[0], fgr[0]

    def step_premultiplied(self, rgb: Union[np.ndarray, torch.Tensor]) -> Tuple[np.ndarray, np.ndarray]:
        """One frame, HxWx3 sRGB-encoded in 0..1 → (alpha HxW, RGBA HxWx4): the foreground in
        linear light (the sRGB curve undone, Rec.709 primaries) premultiplied by alpha — the
        CLI's ``--foreground-source model`` for an sRGB plate, as in its EXR foreground pass."""
        from rvmatte.io.colour import srgb_decode

        pha, fgr = self.step(rgb)
        rgba = np.empty(pha.shape + (4,), np.float32)
        np.multiply(srgb_decode(fgr), pha[:, :, None], out=rgba[:, :, :3])
        rgba[:, :, 3] = pha
        return pha, rgba

    def run(self, frames: Union[np.ndarray, torch.Tensor]) -> Tuple[np.ndarray, np.ndarray]:
        """Several consecutive frames TxHxWx3 → (alpha TxHxW, foreground TxHxWx3)."""
        src = torch.as_tensor(frames).permute(0, 3, 1, 2)
        pha, fgr = self.infer(src)
        return pha[:, 0].cpu().numpy(), fgr.permute(0, 2, 3, 1).cpu().numpy()
