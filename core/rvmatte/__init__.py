"""rvmatte: Robust Video Matting for VFX (EXR alpha and premultiplied foreground passes).

``import rvmatte`` stays light (no torch) so hosts can read ``__version__``; the API
below is loaded on first use.
"""
__version__ = "0.1.0"

_LAZY = {
    "load_model": ("rvmatte.weights", "load_model"),
    "MattingNetwork": ("rvmatte.model", "MattingNetwork"),
    "Session": ("rvmatte.session", "Session"),
    "RunOptions": ("rvmatte.engine", "RunOptions"),
    "run": ("rvmatte.engine", "run"),
    "convert_video": ("rvmatte.convert", "convert_video"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rvmatte' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
