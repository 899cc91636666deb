"""``convert_video``: the original RVM's converter API, running on rvmatte's session and io.

Scripts written for the original (``from inference import convert_video``) keep
their call and get the same files: H.264 movies (composition over green
[120, 255, 155], alpha as grey, the model's foreground), or folders of
``0000.png`` … (composition as RGBA with colour cleared where alpha is 0, alpha as
grey, foreground as RGB), values quantised to 8 bits by truncation as the original
does. Underneath, inputs may also be EXR/DPX sequences (colour-managed into the
network's sRGB), reading overlaps inference, and writing runs in a thread of its own.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from rvmatte.errors import RvmatteError

OUTPUT_TYPES = ("video", "png_sequence")
GREEN = (120, 255, 155)
SEQUENCE_FRAME_RATE = 30.0


class ConvertError(RvmatteError, ValueError):
    """A ``convert_video`` argument that cannot be used."""


def convert_video(model,
                  input_source: str,
                  input_resize: Optional[Tuple[int, int]] = None,
                  downsample_ratio: Optional[float] = None,
                  output_type: str = "video",
                  output_composition: Optional[str] = None,
                  output_alpha: Optional[str] = None,
                  output_foreground: Optional[str] = None,
                  output_video_mbps: Optional[float] = None,
                  seq_chunk: int = 1,
                  num_workers: int = 0,
                  progress: bool = True,
                  device: Optional[str] = None,
                  dtype: Optional[torch.dtype] = None) -> None:
    """Matte ``input_source`` (a movie, or a folder/pattern of images) with ``model``.

    Arguments mean what they mean in the original: ``input_resize`` is (width, height);
    ``downsample_ratio`` None picks ``min(512 / longest side, 1)``; with ``output_type``
    ``"video"`` the outputs are movie files at ``output_video_mbps`` (default 1) and the
    input's frame rate (30 for images), with ``"png_sequence"`` they are folders.
    ``num_workers`` is accepted for compatibility: frames are always read in a
    background thread. ``device``/``dtype`` are needed only for a frozen TorchScript model.
    """
    from tqdm.auto import tqdm

    from rvmatte.engine import Prefetch, clean_nonfinite
    from rvmatte.io import open_input
    from rvmatte.io.colour import ColourPipeline, default_input_colorspace
    from rvmatte.session import Session

    _check_arguments(downsample_ratio, output_type, output_composition, output_alpha, output_foreground,
                     output_video_mbps, seq_chunk, num_workers, input_resize)
    source = open_input(os.fspath(input_source))
    input_space, _ = default_input_colorspace(source)
    colour = ColourPipeline(input_space)
    if hasattr(model, "eval"):
        model = model.eval()
    session = Session(model, downsample_ratio="auto" if downsample_ratio is None else float(downsample_ratio),
                      device=device, dtype=dtype)
    width, height = (int(input_resize[0]), int(input_resize[1])) if input_resize else (source.width, source.height)
    writers = _Writers(output_type, output_composition, output_alpha, output_foreground, width, height,
                       fps=source.fps if source.kind == "movie" and source.fps else SEQUENCE_FRAME_RATE,
                       mbps=1.0 if output_video_mbps is None else float(output_video_mbps))

    def model_frames():
        for plate in source.read(source.frames):
            clean_nonfinite(plate.rgb)
            yield colour.to_model(plate.rgb)

    ok = False
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rvmatte-convert-write") as pool, \
                Prefetch(model_frames(), depth=max(2, 2 * seq_chunk)) as frames, \
                tqdm(total=len(source.frames), disable=not progress, dynamic_ncols=True) as bar:
            pending = []
            chunk = []
            for rgb in frames:
                chunk.append(rgb)
                if len(chunk) < seq_chunk:
                    continue
                pending.append(pool.submit(writers.write, *_infer(session, chunk, input_resize)))
                bar.update(len(chunk))
                chunk = []
                while len(pending) > 2:
                    pending.pop(0).result()
            if chunk:
                pending.append(pool.submit(writers.write, *_infer(session, chunk, input_resize)))
                bar.update(len(chunk))
            for future in pending:
                future.result()
        ok = True
    finally:
        writers.close(ok)


def _check_arguments(downsample_ratio, output_type, composition, alpha, foreground, mbps, seq_chunk,
                     num_workers, input_resize) -> None:
    if downsample_ratio is not None and not 0 < downsample_ratio <= 1:
        raise ConvertError(f"downsample_ratio must be in (0, 1], got {downsample_ratio}")
    if not any((composition, alpha, foreground)):
        raise ConvertError("give at least one output: output_composition, output_alpha or output_foreground")
    if output_type not in OUTPUT_TYPES:
        raise ConvertError(f"output_type must be 'video' or 'png_sequence', got {output_type!r}")
    if seq_chunk < 1:
        raise ConvertError(f"seq_chunk must be 1 or more, got {seq_chunk}")
    if num_workers < 0:
        raise ConvertError(f"num_workers must be 0 or more, got {num_workers}")
    if mbps is not None and output_type != "video":
        raise ConvertError("output_video_mbps applies to output_type='video' only")
    if input_resize is not None and (len(input_resize) != 2 or min(input_resize) < 1):
        raise ConvertError(f"input_resize must be (width, height), got {input_resize!r}")


def _infer(session, chunk, input_resize):
    """A chunk of sRGB frames → (alpha TxHxW, foreground TxHxWx3), numpy."""
    src = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2)
    if input_resize is not None:
        size = (int(input_resize[1]), int(input_resize[0]))
        if tuple(src.shape[-2:]) != size:
            src = F.interpolate(src, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    pha, fgr = session.infer(src)
    return pha[:, 0].cpu().numpy(), fgr.permute(0, 2, 3, 1).cpu().numpy()


def _as_bytes(values: np.ndarray) -> np.ndarray:
    """0..1 values as the original stores them: ×255 truncated to an integer (then back to 0..1)."""
    return np.floor(np.clip(values, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


class _Writers:
    """The original's three outputs, as movies or numbered PNG folders."""

    def __init__(self, output_type, composition, alpha, foreground, width, height, fps, mbps):
        from rvmatte.io.movie_out import MovieWriter

        self.output_type = output_type
        self.index = 0
        self.targets = {name: os.fspath(path) for name, path in
                        (("composition", composition), ("alpha", alpha), ("foreground", foreground)) if path}
        self.movies = {}
        if output_type == "video":
            try:
                for name, path in self.targets.items():
                    self.movies[name] = MovieWriter(path, width, height, fps, bitrate=int(mbps * 1_000_000),
                                                    codec="h264")
            except BaseException:
                self.close(False)
                raise
        else:
            from rvmatte.io.writing import make_output_folder

            for path in self.targets.values():
                make_output_folder(path)
        self.green = np.array(GREEN, dtype=np.float32) / 255.0

    def write(self, pha: np.ndarray, fgr: np.ndarray) -> None:
        for i in range(pha.shape[0]):
            a, f = pha[i][:, :, None], fgr[i]
            images = {}
            if "composition" in self.targets:
                if self.output_type == "video":
                    images["composition"] = f * a + self.green * (1.0 - a)
                else:
                    images["composition"] = np.concatenate([f * (a > 0), a], axis=2)
            if "alpha" in self.targets:
                images["alpha"] = a
            if "foreground" in self.targets:
                images["foreground"] = f
            for name, pixels in images.items():
                self._write_one(name, _as_bytes(pixels))
            self.index += 1

    def _write_one(self, name: str, pixels: np.ndarray) -> None:
        from rvmatte.io import write_frame

        if self.output_type == "video":
            self.movies[name].write(pixels)
            return
        channels = {1: ["Y"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}[pixels.shape[2]]
        path = os.path.join(self.targets[name], f"{self.index:04d}.png")
        write_frame(path, pixels, channels)

    def close(self, ok: bool) -> None:
        error = None
        for movie in self.movies.values():
            if not ok:
                movie.abort()
                continue
            try:
                movie.close()
            except RvmatteError as exc:
                error = error or exc
                ok = False
        self.movies = {}
        if error:
            raise error
