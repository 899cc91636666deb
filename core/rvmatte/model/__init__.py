"""The RVM network, one block per module (see network.MattingNetwork)."""
from .network import REFINERS, VARIANTS, MattingNetwork

__all__ = ["MattingNetwork", "VARIANTS", "REFINERS"]
