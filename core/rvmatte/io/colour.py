"""Colour: plates to the sRGB-encoded values the network was trained on, and back to scene-linear.

Conversions go through OpenColorIO (via OpenImageIO) with the config given,
else ``$OCIO``, else OCIO's built-in ``ocio://default``. The sRGB curve between
"Linear Rec.709 (sRGB)" and "sRGB Encoded Rec.709 (sRGB)" (the common case) is
computed with numpy instead, but only after checking, per config, that it agrees
with OCIO's own result.
"""

from __future__ import annotations

import difflib
import functools
import os

import numpy as np
import OpenImageIO as oiio

from ..errors import InputError, one_line

DEFAULT_CONFIG = "ocio://default"
LINEAR_REC709 = "Linear Rec.709 (sRGB)"
SRGB = "sRGB Encoded Rec.709 (sRGB)"
_LINEAR_REC709_ALIASES = (LINEAR_REC709, "lin_rec709_scene", "lin_rec709", "lin_srgb", "Utility - Linear - sRGB")
_SRGB_ALIASES = (SRGB, "srgb_rec709_scene", "srgb_texture", "sRGB - Texture", "Utility - sRGB - Texture", "srgb_tx")
_FAST_PATH_TOLERANCE = (1e-5, 1e-4)  # absolute, relative: OCIO's CPU path uses fast pow approximations


def config_name(config: str | None = None) -> str:
    """The OCIO config in effect: the one given, else ``$OCIO``, else the built-in default."""
    return config or os.environ.get("OCIO") or DEFAULT_CONFIG


@functools.lru_cache(maxsize=8)
def load_config(name: str) -> oiio.ColorConfig:
    """An OCIO config by file path or ``ocio://`` URI; InputError when it cannot be loaded."""
    if not name.startswith("ocio://") and not os.path.isfile(name):
        raise InputError(f"OCIO config not found: {name}")
    config = oiio.ColorConfig(name)
    error = config.geterror()
    if error:
        raise InputError(f"cannot load OCIO config {name}: {one_line(error)}")
    return config


def resolve_colorspace(name: str, config: str | None = None) -> str:
    """The config's canonical name for a colour space, alias or role; InputError naming a few
    valid names when the config does not know it."""
    cfg_name = config_name(config)
    cfg = load_config(cfg_name)
    found = _lookup(cfg, name)
    if found:
        return found
    names = list(cfg.getColorSpaceNames())
    suggestions = difflib.get_close_matches(name, names, n=4, cutoff=0.3)
    suggestions += [n for n in names if n not in suggestions][: 8 - len(suggestions)]
    raise InputError(
        f"unknown colour space '{name}' in OCIO config {cfg_name}; valid names include: "
        + ", ".join(f"'{n}'" for n in suggestions)
    )


def is_linear(name: str, config: str | None = None) -> bool:
    cfg = load_config(config_name(config))
    return bool(cfg.isColorSpaceLinear(resolve_colorspace(name, config)))


def interop_id(name: str, config: str | None = None) -> str:
    """The colour interop ID (e.g. ``lin_rec709_scene``) of a colour space, or ``""``."""
    try:
        cfg = load_config(config_name(config))
        return cfg.get_color_interop_id(_lookup(cfg, name) or name) or ""
    except (InputError, RuntimeError):
        return ""


def default_input_colorspace(source, config: str | None = None) -> tuple[str, str | None]:
    """``(colour space, warning or None)`` for an input when the user named none.

    The file's own colour tag wins when the config knows it; else integer data is
    sRGB-encoded and float data "Linear Rec.709 (sRGB)". A DPX without a tag gets
    a warning naming the file, since DPX is as often log as video-encoded.
    """
    cfg = load_config(config_name(config))
    hint = getattr(source, "colorspace_hint", None)
    warning = None
    if hint:
        found = _lookup(cfg, hint)
        if found and not cfg.isData(found):
            return found, None
        if not found:
            warning = f"{_first_file(source)}: colour space '{hint}' from the file is unknown to the OCIO config"
    aliases = _LINEAR_REC709_ALIASES if getattr(source, "is_float", False) else _SRGB_ALIASES
    guess = _first_known(cfg, aliases)
    if guess is None:
        raise InputError(
            f"OCIO config {config_name(config)} has no '{aliases[0]}' colour space; name the input's "
            f"space with --input-colorspace"
        )
    if warning:
        warning += f"; assuming '{guess}' (set --input-colorspace)"
    elif getattr(source, "file_format", "").lower() in ("dpx", "cineon"):
        warning = (
            f"{_first_file(source)}: DPX without colour space metadata; assuming '{guess}' "
            f"(set --input-colorspace if it is log)"
        )
    return guess, warning


def _srgb_constants(gamma: float = 2.4, offset: float = 0.055) -> tuple[float, float]:
    """Break point (linear side) and toe slope of the sRGB curve in its C1-continuous form,
    the one OCIO's ExponentWithLinearTransform uses (slope 12.9232 rather than the rounded 12.92)."""
    knee = offset / ((1 + offset) * (1 - 1 / gamma))
    break_point = knee**gamma
    return break_point, (1 + offset) / gamma * knee / break_point


_SRGB_BREAK, _SRGB_SLOPE = _srgb_constants()


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """sRGB curve, linear → encoded (float32; the linear toe extends below 0 as in OCIO)."""
    return _in_bands(linear, _encode_into)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """sRGB curve, encoded → linear (float32), the inverse of ``srgb_encode``."""
    return _in_bands(encoded, _decode_into)


def _encode_into(x: np.ndarray, out: np.ndarray) -> None:
    np.maximum(x, np.float32(_SRGB_BREAK), out=out)
    np.power(out, np.float32(1 / 2.4), out=out)
    out *= np.float32(1.055)
    out -= np.float32(0.055)
    np.copyto(out, x * np.float32(_SRGB_SLOPE), where=x <= np.float32(_SRGB_BREAK))


def _decode_into(v: np.ndarray, out: np.ndarray) -> None:
    knee = np.float32(_SRGB_BREAK * _SRGB_SLOPE)
    np.maximum(v, knee, out=out)
    out += np.float32(0.055)
    out *= np.float32(1 / 1.055)
    np.power(out, np.float32(2.4), out=out)
    np.copyto(out, v * np.float32(1 / _SRGB_SLOPE), where=v <= knee)


_BAND_VALUES = 1 << 18      # float32 values per slice of a curve: 1 MB, its temporaries stay in cache


def _in_bands(values: np.ndarray, curve) -> np.ndarray:
    """``curve(x, out)`` over a new float32 array of ``values``' shape, a cache-sized slice at a time:
    on whole 1080p frames each of its six passes waited on memory (encode 26 -> 15 ms)."""
    x = np.ascontiguousarray(values, dtype=np.float32)
    out = np.empty(x.shape, np.float32)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for start in range(0, flat_x.size, _BAND_VALUES):
        part = slice(start, start + _BAND_VALUES)
        curve(flat_x[part], flat_out[part])
    return out


class ColourPipeline:
    """Colour conversions for one run: input space → model (sRGB) space → output space.

    ``output_space`` defaults to the input space when the config calls it linear,
    else "Linear Rec.709 (sRGB)". EXR outputs are scene-linear, so a non-linear
    output space is an InputError.
    """

    def __init__(self, input_space: str, output_space: str | None = None, config: str | None = None):
        self.config_name = config_name(config)
        self._config = load_config(self.config_name)
        self.input_space = resolve_colorspace(input_space, self.config_name)
        model_space = _first_known(self._config, _SRGB_ALIASES)
        if model_space is None:
            raise InputError(f"OCIO config {self.config_name} has no sRGB-encoded Rec.709 colour space")
        self.model_space = model_space
        if output_space is None:
            if self._config.isColorSpaceLinear(self.input_space):
                self.output_space = self.input_space
            else:
                self.output_space = _first_known(self._config, _LINEAR_REC709_ALIASES) or resolve_colorspace(
                    LINEAR_REC709, self.config_name
                )
        else:
            self.output_space = resolve_colorspace(output_space, self.config_name)
            if not self._config.isColorSpaceLinear(self.output_space):
                raise InputError(
                    f"output colour space '{self.output_space}' is not scene-linear; EXR passes are always linear"
                )
        self._converters: dict[tuple[str, str], object] = {}

    def to_model(self, rgb: np.ndarray) -> np.ndarray:
        """Plate (input space) → sRGB-encoded float32 in 0..1 for the network."""
        out = self.convert(rgb, self.input_space, self.model_space)
        return np.clip(out, 0.0, 1.0, out=out)

    def to_output(self, rgb: np.ndarray) -> np.ndarray:
        """Plate (input space) → the output (scene-linear) space."""
        return self.convert(rgb, self.input_space, self.output_space)

    def model_to_output(self, srgb: np.ndarray) -> np.ndarray:
        """Network values (sRGB-encoded) → the output space."""
        return self.convert(srgb, self.model_space, self.output_space)

    def output_to_model(self, rgb: np.ndarray) -> np.ndarray:
        """Output-space values → sRGB-encoded, e.g. for PNG review images (not clipped)."""
        return self.convert(rgb, self.output_space, self.model_space)

    def convert(self, rgb: np.ndarray, source: str, target: str) -> np.ndarray:
        """float32 (H, W, 3) from one colour space of this config to another (a new C-contiguous array)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        if source == target:
            return rgb.copy()
        key = (source, target)
        if key not in self._converters:
            self._converters[key] = self._pick_converter(source, target)
        return np.ascontiguousarray(self._converters[key](rgb), dtype=np.float32)

    def uses_fast_path(self, source: str, target: str) -> bool:
        """Whether ``convert`` between these spaces runs the numpy sRGB curve rather than OCIO."""
        if (source, target) not in self._converters:
            self._converters[(source, target)] = self._pick_converter(source, target)
        return self._converters[(source, target)] in (srgb_encode, srgb_decode)

    def ocio_convert(self, rgb: np.ndarray, source: str, target: str) -> np.ndarray:
        """The conversion done by OCIO itself (reference for the fast path)."""
        buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
        ok = oiio.ImageBufAlgo.colorconvert(buf, buf, source, target, False, "", "", self.config_name)
        if not ok or buf.has_error:
            reason = one_line(buf.geterror() or oiio.geterror())
            raise InputError(f"colour conversion '{source}' → '{target}' failed: {reason}")
        return buf.get_pixels(oiio.FLOAT).reshape(rgb.shape)

    def _pick_converter(self, source: str, target: str):
        probe = _probe_colours()
        reference = self.ocio_convert(probe, source, target)
        for candidate in (srgb_encode, srgb_decode):
            if np.allclose(candidate(probe), reference, atol=_FAST_PATH_TOLERANCE[0], rtol=_FAST_PATH_TOLERANCE[1]):
                return candidate
        return functools.partial(self._ocio_converter, source=source, target=target)

    def _ocio_converter(self, rgb: np.ndarray, *, source: str, target: str) -> np.ndarray:
        return self.ocio_convert(rgb, source, target)


@functools.lru_cache(maxsize=1)
def _probe_colours() -> np.ndarray:
    """Greys from below 0 to HDR plus saturated colours, so a matrix conversion never passes for a curve."""
    ramp = np.linspace(-0.05, 4.0, 256, dtype=np.float32)
    greys = np.stack([ramp] * 3, axis=-1)
    colours = np.random.default_rng(7).uniform(0.0, 2.0, size=(256, 3)).astype(np.float32)
    return np.ascontiguousarray(np.concatenate([greys, colours])[np.newaxis])


def _lookup(cfg: oiio.ColorConfig, name: str) -> str | None:
    if not name:
        return None
    names = list(cfg.getColorSpaceNames())
    resolved = cfg.resolve(name)
    if resolved in names:
        return resolved
    lowered = name.lower()
    for candidate in names:
        if candidate.lower() == lowered or lowered in (a.lower() for a in cfg.getAliases(candidate)):
            return candidate
    return None


def _first_known(cfg: oiio.ColorConfig, aliases) -> str | None:
    for alias in aliases:
        found = _lookup(cfg, alias)
        if found:
            return found
    return None


def _first_file(source) -> str:
    frames = getattr(source, "frames", None)
    frame_path = getattr(source, "frame_path", None)
    if frames and frame_path:
        return frame_path(frames[0])
    return getattr(source, "path", "input")
