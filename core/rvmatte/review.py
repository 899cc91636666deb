"""Review media for ``rvmatte run``: composites, movie outputs and contact sheets.

A composite is the foreground over a colour or a background plate, done in linear
light (the run's scene-linear output space), then written scene-linear to EXR or
display-encoded (sRGB) to PNG/TIFF/JPEG and movies. A contact sheet shows plate |
alpha | composite for a few frames spread over the shot. The passes that write them
(and the movie outputs) are in rvmatte.passes; this module holds the backgrounds and
the sheet.
"""
from __future__ import annotations

import threading
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from rvmatte.errors import InputError

DEFAULT_BACKGROUND = (120.0, 255.0, 155.0)   # the original RVM's green, sRGB 0..255
CONTACT_SHEET_ROWS = 4
THUMBNAIL_SIZE = 360                          # longest side of a contact-sheet cell, in pixels
_GUTTER = 8
_LABEL_HEIGHT = 24


def parse_background_colour(text: str) -> Tuple[float, float, float]:
    """``"R,G,B"``: sRGB-encoded values 0..255 (decimals allowed), e.g. ``120,255,155``."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0.0 <= v <= 255.0 for v in values):
        raise InputError(f"--background-colour {text!r}: expected R,G,B with values 0-255, e.g. 120,255,155")
    return values


class Backgrounds:
    """The background of each frame in the run's output (scene-linear) space.

    A colour, or a background input (sequence, single image or movie): one frame is
    held for the whole shot; otherwise frames with the shot's numbers are used when
    the background has them all, else the background is matched by offset from each
    input's first frame. A background of another size is resized to the plate.
    """

    def __init__(self, colour, width: int, height: int, frames: Sequence[int], *,
                 rgb: Optional[Sequence[float]] = None, path: Optional[str] = None, reporter=None):
        self.colour = colour
        self.width, self.height = width, height
        self._lock = threading.Lock()
        self._cache: Dict[int, np.ndarray] = {}
        self.source = None
        if path is None:
            encoded = np.asarray(rgb or DEFAULT_BACKGROUND, dtype=np.float32).reshape(1, 1, 3) / 255.0
            self._constant = colour.model_to_output(encoded)[0, 0]
            return
        from rvmatte.io import open_input
        from rvmatte.io.colour import ColourPipeline, default_input_colorspace

        self.source = open_input(path)
        space, warning = default_input_colorspace(self.source, colour.config_name)
        if warning and reporter is not None:
            reporter.warning(f"background: {warning}")
        self._to_linear = ColourPipeline(space, colour.output_space, colour.config_name)
        if (self.source.width, self.source.height) != (width, height) and reporter is not None:
            reporter.warning(f"background {self.source.path} is {self.source.width}x{self.source.height}, "
                             f"the plate {width}x{height}: resized to fit")
        self._map = self._frame_map(frames)
        self._decoder = None

    def _frame_map(self, frames: Sequence[int]) -> Dict[int, int]:
        mine = self.source.frames
        if len(mine) == 1:
            return {f: mine[0] for f in frames}
        present = set(mine)
        if all(f in present for f in frames):
            return {f: f for f in frames}
        first = frames[0] if frames else 0
        mapping = {f: mine[0] + (f - first) for f in frames}
        for frame, wanted in mapping.items():
            if wanted not in present:
                raise InputError(f"background {self.source.path} has no frame {wanted} (for frame {frame}; "
                                 f"it has {mine[0]}-{mine[-1]})")
        return mapping

    def for_frame(self, frame: int) -> np.ndarray:
        """(H, W, 3) or a (3,) colour, scene-linear, for ``frame`` of the shot."""
        if self.source is None:
            return self._constant
        wanted = self._map[frame]
        with self._lock:
            if wanted not in self._cache:
                if len(self._cache) > 16:
                    self._cache.pop(min(self._cache))
                self._cache[wanted] = self._to_linear.to_output(self._fit(self._read(wanted)))
            return self._cache[wanted]

    def _read(self, wanted: int) -> np.ndarray:
        if self.source.kind != "movie":
            return next(iter(self.source.read([wanted]))).rgb
        # Movies decode forwards only: keep one decoder going, restart it to go back.
        if self._decoder is None or self._decoder[0] > wanted:
            self._decoder = [wanted, iter(self.source.read(range(wanted, self.source.last + 1)))]
        for plate in self._decoder[1]:
            self._decoder[0] = plate.frame + 1
            if plate.frame == wanted:
                return plate.rgb
        raise InputError(f"background {self.source.path}: frame {wanted} could not be decoded")

    def _fit(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.shape[:2] == (self.height, self.width):
            return rgb
        return resize(rgb, self.width, self.height)


def resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """float32 (H, W, C) resized with OpenImageIO's filtered resize."""
    import OpenImageIO as oiio

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    channels = pixels.shape[2]
    out = oiio.ImageBufAlgo.resize(oiio.ImageBuf(pixels), roi=oiio.ROI(0, width, 0, height, 0, 1, 0, channels))
    return out.get_pixels(oiio.FLOAT).reshape(height, width, channels)


class ContactSheet:
    """plate | alpha | composite (or other ``columns``) for up to ``rows`` frames spread evenly over ``frames``."""

    def __init__(self, path: str, frames: Sequence[int], width: int, height: int, pixel_aspect: float = 1.0,
                 rows: int = CONTACT_SHEET_ROWS, columns: Sequence[str] = ("plate", "alpha", "composite")):
        self.path = path
        self.columns = tuple(columns)
        count = min(rows, len(frames))
        picks = np.unique(np.round(np.linspace(0, len(frames) - 1, count)).astype(int)) if count else []
        self.frames = [frames[i] for i in picks]
        scale = min(1.0, THUMBNAIL_SIZE / max(width * pixel_aspect, height))
        self.cell = (max(1, round(width * pixel_aspect * scale)), max(1, round(height * scale)))
        self._rows: Dict[int, List[np.ndarray]] = {}
        self._lock = threading.Lock()

    def wants(self, frame: int) -> bool:
        return frame in self.frames

    def add(self, frame: int, plate: np.ndarray, alpha: np.ndarray, composite: np.ndarray) -> None:
        """Display-encoded (H, W, 3) plate and composite and (H, W) alpha of one frame."""
        self.add_cells(frame, (plate, alpha, composite))

    def add_cells(self, frame: int, images: Sequence[np.ndarray]) -> None:
        """One display-encoded image per column, (H, W, 3) or (H, W) grey."""
        cells = []
        for image in images:
            image = np.clip(image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2), 0.0, 1.0)
            cells.append(image if image.shape[:2] == self.cell[::-1] else resize(image, *self.cell))
        with self._lock:
            self._rows[frame] = cells

    def write(self) -> Optional[str]:
        """Assemble and write the sheet (PNG); None when no frame was collected."""
        import OpenImageIO as oiio

        from rvmatte.io import write_frame

        frames = [f for f in self.frames if f in self._rows]
        if not frames:
            return None
        cw, ch = self.cell
        width = len(self.columns) * cw + (len(self.columns) + 1) * _GUTTER
        height = len(frames) * (ch + _LABEL_HEIGHT + _GUTTER) + _LABEL_HEIGHT + _GUTTER
        sheet = np.full((height, width, 3), 0.12, dtype=np.float32)
        labels = [(_GUTTER + i * (cw + _GUTTER), _LABEL_HEIGHT - 6, name)
                  for i, name in enumerate(self.columns)]
        for row, frame in enumerate(frames):
            top = _LABEL_HEIGHT + _GUTTER + row * (ch + _LABEL_HEIGHT + _GUTTER)
            labels.append((_GUTTER, top + _LABEL_HEIGHT - 6, f"frame {frame}"))
            for column, cell in enumerate(self._rows[frame]):
                left = _GUTTER + column * (cw + _GUTTER)
                sheet[top + _LABEL_HEIGHT:top + _LABEL_HEIGHT + ch, left:left + cw] = cell
        buf = oiio.ImageBuf(sheet)
        for x, y, text in labels:
            oiio.ImageBufAlgo.render_text(buf, x, y, text, 16, "", (0.9, 0.9, 0.9))
        oiio.geterror()   # no font available: the sheet is still useful without labels
        write_frame(self.path, buf.get_pixels(oiio.FLOAT).reshape(height, width, 3), ["R", "G", "B"])
        return self.path
