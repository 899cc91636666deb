"""torch.hub entry points with the original RVM's names.

    model = torch.hub.load("<this repo or its folder>", "mobilenetv3")   # or "resnet50"
    convert_video = torch.hub.load("<this repo or its folder>", "converter")

Weights come through rvmatte's resolver: ``$RVMATTE_WEIGHTS``, else the user cache,
else the official release (downloaded once, sha256-checked); offline use works
with ``RVMATTE_WEIGHTS`` set.
"""
import os
import sys

dependencies = ["torch", "numpy", "av", "OpenImageIO", "tqdm"]

_CORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core")
if os.path.isdir(_CORE) and _CORE not in sys.path:
    sys.path.insert(0, _CORE)


def _network(variant: str, pretrained: bool, progress: bool):
    from rvmatte.model import MattingNetwork
    from rvmatte.weights import load_state_dict, resolve, sha256_of

    model = MattingNetwork(variant)
    if pretrained:
        path = resolve(variant, progress=progress)
        model.load_state_dict(load_state_dict(path, variant))
        model.weights_path, model.weights_sha256 = str(path), sha256_of(path)
    return model.eval()


def mobilenetv3(pretrained: bool = True, progress: bool = True):
    """RVM with the MobileNetV3 encoder, in eval mode."""
    return _network("mobilenetv3", pretrained, progress)


def resnet50(pretrained: bool = True, progress: bool = True):
    """RVM with the ResNet50 encoder, in eval mode."""
    return _network("resnet50", pretrained, progress)


def converter():
    """The original's ``convert_video`` function, running on rvmatte."""
    from rvmatte.convert import convert_video

    return convert_video
