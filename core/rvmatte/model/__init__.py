"""The RVM network, one block per module (see network.MattingNetwork).

The names of the variants and refiners are here, not in ``network``, so the command line can
offer them without importing torch (about 1 s of every command's start); ``MattingNetwork`` is
imported from ``network`` when first asked for.
"""
VARIANTS = ("mobilenetv3", "resnet50")
REFINERS = ("deep_guided_filter", "fast_guided_filter")

__all__ = ["MattingNetwork", "VARIANTS", "REFINERS"]


def __getattr__(name: str):
    if name == "MattingNetwork":
        from .network import MattingNetwork

        return MattingNetwork
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
