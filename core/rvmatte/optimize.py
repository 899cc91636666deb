"""Inference-time rewrites of a loaded network that keep its numbers (within float round-off).

``fold_batchnorm`` merges every eval-mode BatchNorm into the convolution before it
(``w' = w·γ/σ``, ``b' = (b − μ)·γ/σ + β``), which removes one full pass over each
feature map. The network keeps its forward and its module tree (a folded BN
becomes ``nn.Identity``), so it is no longer a source of official state_dicts:
fold a copy (``inplace=False``, the default) when the original must survive.
"""
from __future__ import annotations

import copy
from typing import Iterator, Tuple

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from rvmatte.wrapped import WrappedNetwork


def _conv_bn_pairs(module: nn.Module) -> Iterator[Tuple[nn.Module, str, str]]:
    """(parent, conv name, bn name) for every BatchNorm that directly follows a plain Conv2d.

    Two layouts occur: ``nn.Sequential(conv, bn, ...)`` and siblings named ``convN`` / ``bnN``
    (torchvision's ResNet, which the ResNet-50 encoder mirrors).
    """
    for parent in module.modules():
        children = list(parent.named_children())
        if isinstance(parent, nn.Sequential):
            for (conv_name, conv), (bn_name, bn) in zip(children, children[1:]):
                if type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d:
                    yield parent, conv_name, bn_name
        else:
            named = dict(children)
            for name, conv in children:
                if type(conv) is nn.Conv2d and name.startswith("conv"):
                    bn_name = "bn" + name[len("conv"):]
                    if type(named.get(bn_name)) is nn.BatchNorm2d:
                        yield parent, name, bn_name


def fold_batchnorm(model: nn.Module, inplace: bool = False) -> nn.Module:
    """The model with each Conv2d→BatchNorm2d pair replaced by one biased Conv2d (eval mode only)."""
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (BatchNorm statistics are frozen there)")
    if not inplace:
        model = copy.deepcopy(model)
    for parent, conv_name, bn_name in list(_conv_bn_pairs(model)):
        conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
        if not bn.track_running_stats or bn.running_mean is None:
            continue
        setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
        setattr(parent, bn_name, nn.Identity())
    return model


def count_batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def prepare_model(model: nn.Module, tuning, fold: bool | None = None) -> nn.Module:
    """The network as the pipeline runs it: BatchNorm folded (``fold``, default per device) and
    channels_last where the device's tuning asks for it. The model given is never modified;
    a folded copy is made (in float32, then cast back, so half precision loses nothing more)."""
    import torch

    if isinstance(model, torch.jit.ScriptModule):
        return model                     # TorchScript: its graph is fixed, leave it as it came
    fold = tuning.fold_batchnorm if fold is None else fold
    fold = fold and not model.training and count_batchnorms(model) > 0
    if not (fold or tuning.channels_last):
        return model
    dtype = next(model.parameters()).dtype
    prepared = copy.deepcopy(model)
    if fold:
        prepared = fold_batchnorm(prepared.float(), inplace=True).to(dtype)
    if tuning.channels_last:
        prepared = prepared.to(memory_format=torch.channels_last)
    return prepared


class CompiledNetwork(WrappedNetwork):
    """The network with its steady-state forward compiled by ``torch.compile`` (Inductor,
    weights frozen as constants), for long shots.

    Only calls that carry a recurrent state go to the compiled graph: the first frame of a
    shot (and of every cut) runs eagerly, so one graph is built per input size instead of
    two, and the state-less forward is never traced. Compiling costs tens of seconds on the
    first call with a state (less once Inductor's on-disk cache holds the graph); where it
    fails (no C++ compiler, an unsupported build), ``on_fallback`` is told why and the run
    goes on eagerly with the same numbers it would have had without ``--compile``.

    Attributes the pipeline reads (``variant``, ``weights_sha256``, the blocks used by the
    written-out forward) come from the eager network.
    """

    def __init__(self, network: nn.Module, on_fallback=None):
        super().__init__()
        import torch

        self.network = network
        compiled = torch.compile(network, dynamic=False)
        object.__setattr__(self, "_compiled", compiled)        # not a submodule: no second set of parameters
        self._on_fallback = on_fallback
        self.compiled_calls = 0          # forwards that ran the compiled graph

    @staticmethod
    def _freezing():
        import torch._inductor.config as inductor

        return inductor.patch(freezing=True)


    def forward(self, src, r1=None, r2=None, r3=None, r4=None, downsample_ratio: float = 1.0,
                segmentation_pass: bool = False):
        state = (r1, r2, r3, r4)
        if self._compiled is None or segmentation_pass or any(r is None for r in state):
            return self.network(src, *state, downsample_ratio=downsample_ratio, segmentation_pass=segmentation_pass)
        try:
            with self._freezing():       # weights as constants: Inductor prepacks them for oneDNN
                out = self._compiled(src, *state, downsample_ratio=downsample_ratio)
        except Exception as error:       # Inductor's failures have no common base class
            self._compiled = None
            if self._on_fallback is not None:
                self._on_fallback(f"torch.compile failed, running the network uncompiled: "
                                  f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:300]}")
            return self.network(src, *state, downsample_ratio=downsample_ratio)
        self.compiled_calls += 1
        return out
