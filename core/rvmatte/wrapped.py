"""The base of the modules that stand in for the network (compiled, CUDA-graphed, another runtime)."""

from __future__ import annotations

from torch import nn


class WrappedNetwork(nn.Module):
    """A module holding the real network as ``self.network`` and answering for it: what the wrapper
    does not have itself (``variant``, ``weights_path``, ``refiner``…) is read from the network, so
    the engine and the session treat the wrapper as the network."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("_") or "network" not in self.__dict__.get("_modules", {}):
                raise                    # half-built (copy, pickle): nothing to delegate to yet
            return getattr(self._modules["network"], name)
