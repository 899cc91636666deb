"""int8 post-training quantization of the static-shape export (issue 18): does it pay on this CPU?

    PYTHONPATH=core .venv/bin/python bench/int8_study.py                 # all variants, ~5 min
    PYTHONPATH=core .venv/bin/python bench/int8_study.py --variants ov-bf16,ov-int8-encoder-decoder+bf16 --rounds 3

The network alone at 1080p / ratio 0.25 (the rows of bench/backend_rows.py), one thread.
Calibration: consecutive frames of a real clip (``sam2_juggle``, decoded from its mp4 and
scaled to 1920x1080), run through PyTorch with the recurrent state fed back, every input of
every other frame kept (src and r1..r4 as the graph sees them in inference). Evaluation: the
30 frames of the synthetic ``dev01`` clip (never used for calibration; the frames
bench/speed.py times), state fed back from a zero start, each frame's alpha against PyTorch
eager float32 (the original's forward): mean and max |Δα| over all frames.
Speed: every variant and torch eager run in this one process, interleaved round by round
(``--rounds``, ``--frames`` each), each keeping its own state; medians of per-frame wall and
CPU times (the process's CPU clock: less disturbed than wall by a neighbour on a shared machine).

Variants: ``ov-*`` OpenVINO (``int8``: NNCF ``quantize``, MIXED preset: symmetric weights,
asymmetric activations), ``ort-qdq-*`` ONNX Runtime static QDQ (QUInt8 activations, QInt8
per-channel weights); the scope says which layers are quantized (the others stay float32, or
bf16 with ``+bf16``): ``all``, ``encoder-decoder`` (backbone, LR-ASPP and the decoder's
convolutions; the ConvGRUs, the output head and the Deep Guided Filter stay float) or
``backbone`` (backbone and LR-ASPP). ``ov-f32`` and ``ov-bf16`` are the existing precisions,
timed in the same run for the ratios. ``merged`` variants are the export as rvmatte makes it
since this study: the refiner's two full-resolution bilinear upsamplings (of A and b, 4 channels
each) as one 8-channel resize, bit-identical in PyTorch; the others the export as it was.

Needs ``nncf`` for the ``ov-int8-*`` variants (``pip install nncf``; not a dependency of rvmatte),
OpenVINO, ONNX Runtime, PyAV and OpenImageIO. Results: docs/performance.md, "int8".
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "core"))
SHARED = Path(os.environ.get("RVMATTE_SHARED", REPO.parent / "shared"))
WEIGHTS = SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"
CALIBRATION_CLIP = SHARED / "data" / "real_video" / "sam2_juggle_1280x720" / "sam2_05_default_juggle.mp4"
EVAL_CLIP = SHARED / "data" / "synthetic" / "dev01_p3m-bd6af989_on_bgm1-bg0001_1280x720" / "com"
WIDTH, HEIGHT, RATIO = 1920, 1080, 0.25
INPUTS = ["src", "r1i", "r2i", "r3i", "r4i"]

# name: (runtime, what is quantized, inference precision of the rest)
VARIANTS = {  # name: (runtime, quantized scope or None, inference precision of the rest, graph)
    "ov-f32": ("openvino", None, "f32", "plain"),
    "ov-bf16": ("openvino", None, "bf16", "plain"),
    "ov-int8-all": ("openvino", "all", "f32", "plain"),
    "ov-int8-all+bf16": ("openvino", "all", "bf16", "plain"),
    "ov-int8-encoder-decoder": ("openvino", "encoder-decoder", "f32", "plain"),
    "ov-int8-encoder-decoder+bf16": ("openvino", "encoder-decoder", "bf16", "plain"),
    "ov-int8-backbone": ("openvino", "backbone", "f32", "plain"),
    "ov-int8-backbone+bf16": ("openvino", "backbone", "bf16", "plain"),
    "ort-f32": ("onnxruntime", None, None, "plain"),
    "ort-qdq-all": ("onnxruntime", "all", None, "plain"),
    "ort-qdq-encoder-decoder": ("onnxruntime", "encoder-decoder", None, "plain"),
    "ort-qdq-backbone": ("onnxruntime", "backbone", None, "plain"),
    "ov-f32 merged": ("openvino", None, "f32", "merged"),
    "ort-f32 merged": ("onnxruntime", None, None, "merged"),
    "ov-bf16 merged": ("openvino", None, "bf16", "merged"),
    "ov-int8-encoder-decoder+bf16 merged": ("openvino", "encoder-decoder", "bf16", "merged"),
    "ort-qdq-all merged": ("onnxruntime", "all", None, "merged"),
}


# -- frames ----------------------------------------------------------------------------------
def _to_1080p(rgb: np.ndarray):
    import torch
    import torch.nn.functional as F

    image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()
    return F.interpolate(image, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False).clamp(0, 1)


def movie_frames(path: Path, count: int):
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(_to_1080p(frame.to_ndarray(format="rgb24") / 255.0))
            if len(frames) == count:
                break
    return frames


def png_frames(folder: Path):
    import OpenImageIO as oiio

    return [_to_1080p(oiio.ImageBuf(str(p)).get_pixels(oiio.FLOAT)) for p in sorted(folder.glob("*.png"))]


# -- PyTorch reference -----------------------------------------------------------------------
def torch_run(model, frames):
    """Every frame's graph inputs (src, r1..r4 as numpy) and alpha, state fed back from zero."""
    import torch

    from rvmatte.backends.static_export import state_shapes

    shapes = state_shapes(model, HEIGHT, WIDTH, RATIO)
    rec, feeds, alphas = [None] * 4, [], []
    with torch.inference_mode():
        for src in frames:
            state = [r.numpy().copy() if r is not None else np.zeros(s, np.float32) for r, s in zip(rec, shapes)]
            feeds.append(dict(zip(INPUTS, [src.numpy().copy(), *state])))
            _, pha, *rec = model(src, *rec, downsample_ratio=RATIO)
            alphas.append(pha.numpy().copy())
    return feeds, alphas


# -- the graphs ------------------------------------------------------------------------------
def export(model, path: str, graph: str) -> None:
    """The static export as rvmatte makes it (``merged``: one 8-channel resize of A and b) or as it was
    before (``plain``: two 4-channel resizes)."""
    from rvmatte.backends.static_export import export_static_onnx, float32_copy

    export_static_onnx(float32_copy(model), path, HEIGHT, WIDTH, RATIO, merged_upsampling=graph == "merged")


# -- what to quantize --------------------------------------------------------------------------
QUANTIZED = {  # scope: (name prefixes that are quantized, name parts kept float among them)
    "all": (("",), ()),
    "encoder-decoder": (("/backbone/", "/aspp/", "/decoder/"), ("/gru/",)),
    "backbone": (("/backbone/", "/aspp/"), ()),
}


def float_nodes(names, scope: str) -> list:
    """The names among ``names`` that stay float for ``scope``: everything outside its prefixes
    (OpenVINO's names: a convolution is ``<onnx name>/WithoutBiases``, its bias ``<onnx name>``;
    the GRUs' last Add is named for the output it makes, ``r1o``..``r4o``)."""
    prefixes, minus = QUANTIZED[scope]
    return [n for n in names if not n.startswith(prefixes) or any(m in n for m in minus)]


def quantize_openvino(onnx_path: str, scope: str, calibration: list, out: str) -> None:
    try:
        import nncf
    except ImportError:
        sys.exit("bench/int8_study.py: the ov-int8 variants need NNCF (pip install nncf)")
    import openvino

    model = openvino.Core().read_model(onnx_path)
    ignored = float_nodes([op.get_friendly_name() for op in model.get_ops()], scope)
    quantized = nncf.quantize(model, nncf.Dataset(calibration), subset_size=len(calibration),
                              preset=nncf.QuantizationPreset.MIXED,
                              ignored_scope=nncf.IgnoredScope(names=ignored, validate=False))
    openvino.save_model(quantized, out, compress_to_fp16=False)


def quantize_onnxruntime(onnx_path: str, scope: str, calibration: list, out: str) -> None:
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(calibration)

        def get_next(self):
            return next(self.items, None)

    pre = out + ".pre.onnx"
    quant_pre_process(onnx_path, pre, skip_symbolic_shape=True)
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True,
                    nodes_to_exclude=float_nodes([n.name for n in onnx.load(onnx_path).graph.node], scope))
    os.remove(pre)


# -- runners ---------------------------------------------------------------------------------
class OpenVinoRunner:
    def __init__(self, path: str, hint: str):
        import openvino

        compiled = openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": hint,
                                                                "INFERENCE_NUM_THREADS": 1})
        self.request = compiled.create_infer_request()
        self.names = [next(n for n in INPUTS if n in i.get_names()) for i in compiled.inputs]
        self.outputs = list(compiled.outputs)

    def __call__(self, feed: dict) -> list:
        results = self.request.infer({n: feed[n] for n in self.names})
        return [results[o].copy() for o in self.outputs]


class OrtRunner:
    def __init__(self, path: str):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def __call__(self, feed: dict) -> list:
        return self.session.run(None, feed)


class TorchRunner:
    def __init__(self, model):
        self.model = model

    def __call__(self, feed: dict) -> list:
        import torch

        with torch.inference_mode():
            src, *state = (torch.from_numpy(feed[n]) for n in INPUTS)
            if not state[0].any():
                state = [None] * 4
            return [t.numpy() for t in self.model(src, *state, downsample_ratio=RATIO)]


def stream(runner, frames, state=None):
    """Runs ``frames`` feeding the state back; returns (alphas, per-frame seconds, last state)."""
    alphas, times = [], []
    for src in frames:
        feed = dict(zip(INPUTS, [src.numpy(), *state])) if state else {"src": src.numpy(), **{
            n: np.zeros(s, np.float32) for n, s in zip(INPUTS[1:], SHAPES)}}
        start, cpu = time.perf_counter(), time.process_time()
        _, pha, *state = runner(feed)
        times.append((time.perf_counter() - start, time.process_time() - cpu))
        alphas.append(pha)
    return alphas, times, state


SHAPES: list = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--calibration-frames", type=int, default=24,
                        help="consecutive frames of the calibration clip run (every other one is kept)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--frames", type=int, default=8, help="frames per variant per round")
    parser.add_argument("--work", default="/tmp/rvmatte-int8-study", help="exports and quantized models")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    from rvmatte.tuning import prepare_process

    prepare_process()
    import torch

    from rvmatte.backends.static_export import state_shapes
    from rvmatte.weights import load_model

    torch.set_num_threads(1)
    os.makedirs(args.work, exist_ok=True)
    model = load_model("mobilenetv3", WEIGHTS, device="cpu")          # eager, not folded: the original's forward
    SHAPES[:] = state_shapes(model, HEIGHT, WIDTH, RATIO)
    graphs = {}
    for graph in ("plain", "merged"):
        graphs[graph] = os.path.join(args.work, f"net1080-{graph}.onnx")
        if not os.path.exists(graphs[graph]):
            export(model, graphs[graph], graph)

    calibration, _ = torch_run(model, movie_frames(CALIBRATION_CLIP, args.calibration_frames))
    calibration = calibration[1::2]
    evaluation = png_frames(EVAL_CLIP)
    _, reference = torch_run(model, evaluation)

    runners = {"torch eager": TorchRunner(model)}
    for name in args.variants.split(","):
        runtime, scope, hint, graph = VARIANTS[name]
        onnx_path = path = graphs[graph]
        started = time.perf_counter()
        if runtime == "openvino":
            if scope:
                path = os.path.join(args.work, f"ov-int8-{scope}-{graph}.xml")
                if not os.path.exists(path):
                    quantize_openvino(onnx_path, scope, calibration, path)
            runners[name] = OpenVinoRunner(path, hint)
        else:
            if scope:
                path = os.path.join(args.work, f"ort-qdq-{scope}-{graph}.onnx")
                if not os.path.exists(path):
                    quantize_onnxruntime(onnx_path, scope, calibration, path)
            runners[name] = OrtRunner(path)
        print(f"{name}: ready in {time.perf_counter() - started:.1f} s", flush=True)

    rows = {}
    for name, runner in runners.items():
        alphas, _, _ = stream(runner, evaluation)
        diff = np.stack([np.abs(a - r) for a, r in zip(alphas, reference)])
        rows[name] = {"mean": float(diff.mean()), "max": float(diff.max()), "off": float((diff > 0.1).mean()),
                      "worst_frame_mean": float(diff.reshape(len(alphas), -1).mean(1).max()), "times": []}
        print(f"{name}: mean |Δα| {rows[name]['mean']:.2e}, max {rows[name]['max']:.2e}, "
              f"{rows[name]['off']:.1e} of pixels off by > 0.1 "
              f"(worst frame's mean {rows[name]['worst_frame_mean']:.2e})", flush=True)

    loads = [os.getloadavg()[0]]
    states = {name: None for name in runners}
    for round_ in range(args.rounds):
        for name, runner in runners.items():       # interleaved: a neighbour's load hits every variant alike
            chunk = [evaluation[(round_ * args.frames + i) % len(evaluation)] for i in range(args.frames)]
            _, times, states[name] = stream(runner, chunk, states[name])
            rows[name]["times"] += times[1:] if round_ == 0 else times
        loads.append(os.getloadavg()[0])
    wall = {n: statistics.median(t for t, _ in r["times"]) for n, r in rows.items()}
    cpu = {n: statistics.median(c for _, c in r["times"]) for n, r in rows.items()}
    print(f"\nload average (1 min) during timing: {min(loads):.2f}-{max(loads):.2f} ({os.cpu_count()} cores); "
          f"1 thread; {WIDTH}x{HEIGHT} ratio {RATIO}; {len(evaluation)} eval frames (dev01), "
          f"{len(calibration)} calibration frames (sam2_juggle); {args.rounds} rounds x {args.frames} frames\n")
    print("| variant | frames/s (wall) | vs torch eager (wall) | CPU ms/frame | vs torch eager (CPU) | vs ov-bf16 (CPU) "
          "| mean \\|Δα\\| | max \\|Δα\\| | pixels off > 0.1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        row.update(wall=wall[name], cpu=cpu[name], ratio_wall=wall["torch eager"] / wall[name],
                   ratio_cpu=cpu["torch eager"] / cpu[name])
        bf16 = f"{cpu['ov-bf16'] / cpu[name]:.2f}x" if "ov-bf16" in cpu else ""
        print(f"| {name} | {1 / wall[name]:.2f} | {row['ratio_wall']:.2f}x | {cpu[name] * 1e3:.0f} | "
              f"{row['ratio_cpu']:.2f}x | {bf16} | {row['mean']:.1e} | {row['max']:.2f} | {row['off']:.1e} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "load": loads}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
