"""``rvmatte export torchscript|onnx``: the network as a file other runtimes load.

Both exports keep the original RVM's interface, so code written for its published
``.torchscript`` and ``.onnx`` files works with ours:

- TorchScript: the scripted ``MattingNetwork``, called like the eager model,
  ``fgr, pha, *rec = model(src, *rec, downsample_ratio)`` with ``rec = [None] * 4``
  (or four zero tensors) at the first frame;
- ONNX: inputs ``src, r1i, r2i, r3i, r4i, downsample_ratio`` (a float32 tensor of
  shape [1]; first-frame states are zero tensors of shape [1,1,1,1]), outputs
  ``fgr, pha, r1o, r2o, r3o, r4o``; batch, height and width are dynamic.

This module stays light at import: torch is loaded only when an export runs.
"""
from __future__ import annotations

import os

from rvmatte.errors import OutputError, RvmatteError

FORMATS = ("torchscript", "onnx")
ONNX_INPUTS = ["src", "r1i", "r2i", "r3i", "r4i", "downsample_ratio"]
ONNX_OUTPUTS = ["fgr", "pha", "r1o", "r2o", "r3o", "r4o"]
DEFAULT_OPSET = 17


def export_torchscript(model, path: str) -> str:
    """Script ``model`` (a MattingNetwork) and save it to ``path``."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # TorchScript is what Nuke and libtorch load
        scripted = torch.jit.script(model.eval())
    _save(path, lambda temp: scripted.save(temp))
    return path


def export_onnx(model, path: str, *, opset: int = DEFAULT_OPSET, example_size=(288, 512)) -> str:
    """Export ``model`` (a MattingNetwork) to ONNX with dynamic batch, height and width.

    The graph is traced once on a zero frame of ``example_size`` (height, width) at a
    ratio of 0.5; the ratio itself stays an input.
    """
    import torch

    from rvmatte.model.exportable import TensorInputMatting

    param = next(model.parameters())
    wrapper = TensorInputMatting(model.eval()).eval()
    src = torch.zeros(1, 3, *example_size, device=param.device, dtype=param.dtype)
    state = torch.zeros(1, 1, 1, 1, device=param.device, dtype=param.dtype)
    ratio = torch.tensor([0.5], dtype=torch.float32, device=param.device)
    image = {0: "batch", 2: "height", 3: "width"}
    anything = {0: "batch", 1: "channels", 2: "height", 3: "width"}
    dynamic = {"src": image, "fgr": image, "pha": image}
    dynamic.update({f"r{i}i": anything for i in range(1, 5)})
    dynamic.update({f"r{i}o": image for i in range(1, 5)})

    def write(temp: str) -> None:
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")   # tracer chatter about shapes read as Python ints
            torch.onnx.export(wrapper, (src, state, state, state, state, ratio), temp, dynamo=False,
                              opset_version=opset, input_names=ONNX_INPUTS, output_names=ONNX_OUTPUTS,
                              dynamic_axes=dynamic, do_constant_folding=True, export_params=True)

    _save(path, write)
    return path


def _save(path: str, write) -> None:
    """Write through a temporary file beside ``path`` (a failed export leaves nothing)."""
    from rvmatte.io.writing import make_output_folder

    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    make_output_folder(directory)
    temp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        write(temp)
        os.replace(temp, path)
    except OSError as error:
        raise OutputError(f"cannot write {path} ({error.strerror or error})") from None
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def add_parser(subparsers) -> None:
    """``rvmatte export FORMAT OUTPUT``, hooked into the CLI like the farm commands."""
    p = subparsers.add_parser(
        "export", help="write the network as TorchScript or ONNX",
        description="Write the network with the original RVM's inputs and outputs: TorchScript "
                    "(called like the PyTorch model) or ONNX (src, r1i..r4i, downsample_ratio → "
                    "fgr, pha, r1o..r4o; dynamic sizes).")
    p.add_argument("format", choices=FORMATS)
    p.add_argument("output", help="file to write (e.g. rvm_mobilenetv3.torchscript, rvm_mobilenetv3.onnx)")
    p.add_argument("--weights", help="checkpoint file (else $RVMATTE_WEIGHTS, the user cache, or a download)")
    p.add_argument("--variant", choices=("mobilenetv3", "resnet50"), default="mobilenetv3")
    p.add_argument("--refiner", choices=("deep_guided_filter", "fast_guided_filter"), default="deep_guided_filter")
    p.add_argument("--precision", choices=("float32", "float16"), default="float32",
                   help="float16 exports need a device that runs float16 (e.g. --device cuda)")
    p.add_argument("--device", default="cpu", help="device the export is traced on (cpu, cuda …)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from rvmatte.weights import load_model

    if args.format == "onnx" and args.opset < 11:
        raise RvmatteError(f"--opset {args.opset}: the Resize with runtime scales needs opset 11 or later")
    model = load_model(args.variant, args.weights, device=args.device, precision=args.precision,
                       refiner=args.refiner)
    if args.format == "torchscript":
        export_torchscript(model, args.output)
    else:
        _require_onnx()
        export_onnx(model, args.output, opset=args.opset)
    print(f"rvmatte: wrote {args.format} model {args.output} ({args.variant}, {args.precision})")
    return 0


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise RvmatteError("ONNX export needs the onnx package: pip install onnx") from None

