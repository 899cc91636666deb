"""The streaming pipeline behind ``rvmatte run``.

reader thread → (colour to model space, NaN cleaning) → bounded queue → session
(model + recurrent state) → writer pool (colour back, premultiply, atomic writes).
Memory is bounded by the queue and the number of frames in flight, whatever the
shot length. Frames are reported in order, once their files are on disk.
"""
from __future__ import annotations

import collections
import json
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from rvmatte import __version__
from rvmatte.backends import label as backend_label
from rvmatte.cuts import Cut, detect_cuts
from rvmatte.errors import InputError, OutputError, RvmatteError
from rvmatte.io.stamp import FIELDS_ATTRIBUTE, KEY_ATTRIBUTE
from rvmatte.masks import Masks
from rvmatte.output_checks import check_network_output
from rvmatte.passes import (CHECK_FRAMES, FOREGROUND_SOURCES, QC_ATTRIBUTE, SEGMENTATION_CHANNEL,  # noqa: F401
                            ForegroundColour, FrameResults, Outputs, RunContext, header_entries)
from rvmatte.progress import Reporter
from rvmatte.schedule import Step, build_schedule, clip_preroll
from rvmatte.tuning import defaults_for, lower_thread_priority


@dataclass
class RunOptions:
    """Everything ``rvmatte run`` can be told; the CLI and hosts fill it in."""

    input: str
    alpha: Optional[str] = None
    foreground: Optional[str] = None
    foreground_source: str = "edge"
    weights: Optional[str] = None
    variant: str = "mobilenetv3"
    refiner: str = "deep_guided_filter"
    device: str = "auto"
    precision: str = "float32"
    downsample_ratio: Union[str, float] = "auto"
    seq_chunk: Optional[int] = None
    frames: Optional[Tuple[int, int]] = None
    preroll: int = 0
    resume: bool = False
    start_frame: Optional[int] = None
    layer: Optional[str] = None
    input_colorspace: Optional[str] = None
    output_colorspace: Optional[str] = None
    ocio_config: Optional[str] = None
    bit_depth: str = "half"
    compression: str = "zip"
    threads: Optional[int] = None            # None: the device default (rvmatte.tuning)
    writers: Optional[int] = None
    fold_batchnorm: Optional[bool] = None
    compile: bool = False                    # torch.compile the steady-state forward (long shots)
    backend: str = "torch"                   # torch, onnxruntime, openvino, tensorrt or auto (rvmatte.backends)
    deterministic: bool = False              # GPU: fixed cuDNN algorithms, TF32 off (rvmatte.gpu)
    cuda_graphs: bool = False                # CUDA: the steady state replayed from a graph (rvmatte.cuda_graphs)
    model: object = None                     # an already loaded network (hosts, tests, the API)
    composite: Optional[str] = None          # review: foreground over a colour or a background plate
    background: Optional[str] = None         # background input for the composite (else a colour)
    background_colour: Optional[Tuple[float, float, float]] = None   # sRGB 0..255; default RVM's green
    fps: Optional[float] = None              # movie outputs (default: the input movie's rate, else 24)
    bitrate: Optional[float] = None          # H.264 outputs, Mbit/s (default: constant quality)
    contact_sheet: Optional[str] = None      # PNG: plate | alpha | composite for a few frames
    warmup: int = 0                          # reverse warm-up frames where the state starts empty
    reset_at: List[int] = field(default_factory=list)   # first frames of new shots (state cleared)
    detect_cuts: bool = False
    holdout: Optional[str] = None            # matte sequence: what must not be matted
    garbage: Optional[str] = None            # matte sequence: outside it nothing is kept
    segmentation: Optional[str] = None       # pattern for the segmentation probability pass
    ensemble: Optional[str] = None           # extra streams, e.g. "mirror,reverse,ratio:0.375" (rvmatte.ensemble)
    confidence: Optional[str] = None         # pattern for the confidence pass (rvmatte.confidence)
    passes: Dict[str, str] = field(default_factory=dict)   # patterns of other registered passes, by name (rvmatte.passes)
    input_id: Optional[str] = None           # the host's identity of the input's contents (in the result key)
    versions: Optional[str] = None           # outputs go into a version folder of this one (rvmatte.versions)
    keep_versions: Optional[int] = None      # with versions: complete versions kept (None: all)
    version_step: Optional[str] = None       # a farm job's task: choose, chunk or finish (rvmatte.versions)
    version_frames: Optional[List[int]] = None   # finish: every frame of the job, checked on disk


@dataclass
class Plan:
    """Which frames are computed, and which of them are written."""

    compute: List[int]            # preroll + requested, in order
    requested: List[int]
    complete: dict = field(default_factory=dict)   # frame → passes already on disk (--resume)


def parse_frame_range(text: str) -> Tuple[int, int]:
    """``"1001-1100"`` or ``"1001"`` → (first, last)."""
    text = text.strip()
    try:
        if "-" in text[1:]:
            cut = text.index("-", 1)
            first, last = int(text[:cut]), int(text[cut + 1:])
        else:
            first = last = int(text)
    except ValueError:
        raise InputError(f"--frames {text!r}: expected FIRST-LAST, e.g. 1001-1100") from None
    if first > last:
        raise InputError(f"--frames {text!r}: the first frame is after the last")
    return first, last


def plan_frames(available: Sequence[int], frames: Optional[Tuple[int, int]], preroll: int,
                frame_path: Callable[[int], str]) -> Plan:
    """The frames to run: the requested range (every frame must exist), preceded by up to
    ``preroll`` contiguous frames before it (fewer at the start of the shot or before a hole)."""
    if preroll < 0:
        raise InputError(f"--preroll {preroll}: must be 0 or more")
    if not available:
        raise InputError("the input has no frames")
    present = set(available)
    first, last = frames if frames else (available[0], available[-1])
    if first < available[0] or last > available[-1]:
        raise InputError(f"frames {first}-{last} requested, the input has {available[0]}-{available[-1]}")
    requested = list(range(first, last + 1))
    for frame in requested:
        if frame not in present:
            raise InputError(f"frame {frame} is missing: {frame_path(frame)}")
    warm: List[int] = []
    frame = first - 1
    while len(warm) < preroll and frame in present:
        warm.insert(0, frame)
        frame -= 1
    return Plan(compute=warm + requested, requested=requested)


def default_outputs(source_name: str, output_dir: str) -> Tuple[str, str]:
    return (os.path.join(output_dir, f"{source_name}.alpha.####.exr"),
            os.path.join(output_dir, f"{source_name}.fgr.####.exr"))


def clean_nonfinite(rgb: np.ndarray) -> int:
    """Replace NaN/inf by 0 in place (the recurrent state must stay finite); return how many."""
    bad = ~np.isfinite(rgb)
    count = int(bad.sum())
    if count:
        rgb[bad] = 0.0
    return count


class Job:
    """One run of the pipeline over a shot."""

    def __init__(self, options: RunOptions, reporter: Optional[Reporter] = None):
        from rvmatte.io import open_input
        from rvmatte.io.colour import ColourPipeline, default_input_colorspace

        self.options = options
        self.reporter = reporter or Reporter()
        self.lineage: Optional[dict] = None     # of tuned weights (rvmatte.train.lineage)
        if options.foreground_source not in FOREGROUND_SOURCES:
            raise InputError(f"--foreground-source {options.foreground_source!r}: expected edge, model or plate")
        self.source = open_input(options.input, layer=options.layer, start_frame=options.start_frame)
        self.plan = plan_frames(self.source.frames, options.frames, options.preroll, self.source.frame_path)
        self.outputs = Outputs(options, self.source)
        self.version = None                     # rvmatte.versions.RunVersion, once the key is known
        #: Called with (key, fields) once the result key is known, before the start event and any frame
        #: (the people pass chooses its version folder here: rvmatte.people.cli).
        self.on_result_key: Optional[Callable[[str, dict], None]] = None
        if options.versions:
            from rvmatte.versions import check_inside

            check_inside(options.versions, self.outputs)
        if options.warmup < 0:
            raise InputError(f"--warmup {options.warmup}: must be 0 or more")
        from rvmatte.ensemble import parse_ensemble

        try:
            self.streams = parse_ensemble(options.ensemble) if options.ensemble else ()
        except ValueError as error:
            raise InputError(f"--ensemble {options.ensemble}: {error}") from None
        self.masks = Masks(options.holdout, options.garbage)
        self.masks.check(self.plan.requested, self.source.width, self.source.height)
        self.cuts: List[Cut] = []
        if options.resume and self.outputs.movies():
            raise OutputError(f"--resume cannot keep frames of a movie output ({self.outputs.movies()[0].hashes}): "
                              f"run without --resume")
        input_space = options.input_colorspace
        self.colour_warning = None
        if not input_space:
            input_space, self.colour_warning = default_input_colorspace(self.source, options.ocio_config)
        self.colour = ColourPipeline(input_space, options.output_colorspace, options.ocio_config)
        self.foreground = ForegroundColour(self.colour, options, self._plate_is_model_input())
        self.outputs.setup(RunContext(options, self.source, self.colour, self.reporter, list(self.plan.requested),
                                      self.foreground))
        from rvmatte.overwrites import check_no_input_overwritten, job_inputs, job_outputs

        check_no_input_overwritten(job_outputs(self), job_inputs(self))

    # -- set-up -----------------------------------------------------------------------------
    def _load_model(self):
        from rvmatte.weights import load_model

        o = self.options
        if o.model is not None:
            return o.model
        return load_model(o.variant, o.weights, device=o.device, precision=o.precision, refiner=o.refiner)

    def _attributes(self, model, ratio: float) -> dict:
        key, fields = self._result_key(model, ratio)
        return {
            "rvmatte/version": __version__,
            "rvmatte/variant": getattr(model, "variant", self.options.variant),
            "rvmatte/refiner": getattr(model, "refiner_name", self.options.refiner),
            "rvmatte/weights_sha256": getattr(model, "weights_sha256", ""),
            **({"rvmatte/base_weights_sha256": self.lineage["base_weights_sha256"]} if self.lineage else {}),
            "rvmatte/backend": backend_label(model),
            "rvmatte/downsample_ratio": float(ratio),
            "rvmatte/input_colorspace": self.colour.input_space,
            "rvmatte/colorspace": self.colour.output_space,
            "rvmatte/ocio_config": self.colour.config_name,
            **header_entries(self.options),
            "rvmatte/warmup": int(self.options.warmup),
            **({"rvmatte/ensemble": ",".join(s.name for s in self.streams)} if self.streams else {}),
            "rvmatte/cuts": ",".join(str(c.frame) for c in self.cuts),
            KEY_ATTRIBUTE: key,
            FIELDS_ATTRIBUTE: json.dumps(fields, sort_keys=True),
        }

    def _result_key(self, model, ratio: float):
        """(key, fields) of this run: see rvmatte.result_key."""
        from rvmatte.result_key import matte_sha256, result_key

        o = self.options
        background = None
        if o.background:
            background = (os.path.basename(o.background.rstrip("/\\")), self.source.width, self.source.height)
        return result_key(
            o, width=self.source.width, height=self.source.height, pixel_aspect=self.source.pixel_aspect,
            input_colorspace=self.colour.input_space, output_colorspace=self.colour.output_space,
            ocio_config=self.colour.config_name, weights_sha256=getattr(model, "weights_sha256", ""), downsample_ratio=ratio,
            variant=getattr(model, "variant", None), refiner=getattr(model, "refiner_name", None),
            precision=str(next(model.parameters()).dtype).replace("torch.", ""),
            holdout_sha256=matte_sha256(self.masks.holdout), garbage_sha256=matte_sha256(self.masks.garbage),
            background=background, backend=backend_label(model))

    def _find_complete(self, key: str, ours: dict) -> None:
        """--resume: the passes of each frame already on disk, whole and made with ``key``; frames made
        with other settings are redone, and a warning says how many and what differs."""
        from rvmatte.result_key import differences

        redone: dict = {}
        for frame in self.plan.requested:
            mismatched: list = []
            passes = self.outputs.complete_passes(frame, key, mismatched)
            if passes:
                self.plan.complete[frame] = passes
            if mismatched:
                fields = mismatched[0]
                reason = (differences(fields, ours) or "another result key") if fields else "no result key recorded"
                redone[reason] = redone.get(reason, 0) + 1
        for reason, count in redone.items():
            self.reporter.warning(f"--resume: {count} frame{'s' if count != 1 else ''} "
                                  f"{'were' if count != 1 else 'was'} made with other settings ({reason}) "
                                  f"and {'are' if count != 1 else 'is'} redone")

    def _enter_version(self, key: str, fields: dict) -> None:
        """--versions: the outputs move into the version folder of this key (rvmatte.versions), whose
        complete frames are kept as --resume keeps them (all of them: a movie output is redone)."""
        from rvmatte.overwrites import check_no_input_overwritten, job_inputs, job_outputs
        from rvmatte.versions import choose, find

        if self.options.version_step in ("chunk", "finish"):
            self.version = find(self.options.versions, key)
        else:
            self.version = choose(self.options.versions, key, fields)
        self.outputs.relocate(self.options.versions, self.version.folder)
        check_no_input_overwritten(job_outputs(self), job_inputs(self))
        self.outputs.prepare_directories()
        self.outputs.remove_stale_temps(self.plan.requested)
        if not self.outputs.movies():
            self._find_complete(key, fields)
        if len(self._finished_frames()) < len(self.plan.requested):
            self.version.mark("running")

    def _end_version(self, error: BaseException) -> None:
        """A versioned run stopped early: its folder says cancelled (a host's cancel, Ctrl-C) or failed,
        with the frames complete on disk, so a host offers Resume. Never hides ``error``."""
        named = frozenset(p.name for p in self.outputs.passes if p.per_frame)
        try:
            done = [f for f in self.plan.requested
                    if self.outputs.complete_passes(f, self.version.state["key"]) >= named]
            self.version.stopped(error, done)
        except (OSError, RvmatteError):
            pass

    def _complete_version(self) -> dict:
        """A versioned run succeeded: its folder is complete (and current), older ones beyond
        --keep-versions are removed. A farm chunk (``--version-step chunk``) only records its frames:
        the job's finish task marks the version complete once every chunk has ended."""
        from rvmatte.versions import prune

        if self.options.version_step == "chunk":
            self.version.mark(None, self.plan.requested)
            return {**self.version.describe(), "removed": []}
        self.version.mark("complete", self.plan.requested)
        keep = self.options.keep_versions
        removed = prune(self.options.versions, keep, self.version) if keep else []
        return {**self.version.describe(), "removed": removed}

    def _version_task(self, key: str, fields: dict, started: float) -> dict:
        """A farm job's first and last task of a versioned shot, which write no frame. ``choose``: the
        version of this key is made (or picked, and an unfinished one marked running) before any chunk
        starts. ``finish``, after every chunk: each of ``version_frames`` must read back whole with this
        key; then the version is complete and --keep-versions applies, else it is marked failed naming
        the frames to requeue."""
        from rvmatte.versions import choose, find, prune

        o = self.options
        if o.version_step == "choose":
            self.version = choose(o.versions, key, fields)
            if self.version.reused not in (None, "complete"):
                self.version.mark("running")
            summary = {"task": "version", "step": "choose", "output_version": self.version.describe()}
        else:
            self.version = find(o.versions, key)
            self.outputs.relocate(o.versions, self.version.folder)
            named = frozenset(p.name for p in self.outputs.passes if p.per_frame)
            frames = list(o.version_frames or self.plan.requested)
            done = [f for f in frames if self.outputs.complete_passes(f, key) >= named]
            if len(done) < len(frames):
                from rvmatte_hostkit.sparse import format_ranges

                missing = sorted(set(frames) - set(done))
                message = (f"{self.version.folder}: {len(missing)} of {len(frames)} frames missing, damaged or made "
                           f"with other settings after every chunk ended ({format_ranges(missing)}); requeue "
                           f"their chunks, then this task")
                self.version.mark("failed", done, message, replace=True)
                self.version = None           # its state says why; run() must not mark it again
                raise OutputError(message)
            self.version.mark("complete", done, replace=True)
            removed = prune(o.versions, o.keep_versions, self.version) if o.keep_versions else []
            summary = {"task": "version", "step": "finish", "frames": len(done),
                       "output_version": {**self.version.describe(), "removed": removed}}
        summary.update(seconds=round(time.perf_counter() - started, 3), version=__version__,
                       weights=getattr(self._model_for_key, "weights_path", None),
                       weights_sha256=fields.get("weights_sha256"), device=self._device_for_key)
        self.reporter.done(summary)
        return summary

    def _shot_reach(self, frame: int, cuts: Sequence[int]) -> int:
        """The last frame of ``frame``'s shot: before the next cut and the next missing frame."""
        present = self.source.frames
        later = [c for c in cuts if c > frame]
        limit = later[0] - 1 if later else present[-1]
        from rvmatte.ensemble import max_postroll

        limit = min(limit, frame + max_postroll())          # as far as a reverse block can look
        index = present.index(frame)
        while index + 1 < len(present) and present[index + 1] == present[index] + 1 and present[index + 1] <= limit:
            index += 1
        return present[index]

    def _find_cuts(self) -> List[Cut]:
        """Given (--reset-at) and detected (--detect-cuts) cuts inside the frames this run computes,
        warm-up reach included."""
        o = self.options
        first = self.plan.compute[0]
        from rvmatte.ensemble import has_reverse, max_postroll

        reach = self.plan.requested[-1] + max(o.warmup, max_postroll() if has_reverse(self.streams) else 0)
        span = [f for f in self.source.frames if first <= f <= reach]
        cuts = {}
        for frame in o.reset_at:
            if frame not in self.source.frames:
                self.reporter.warning(f"--reset-at {frame}: the input has no frame {frame}", frame=frame)
            elif first < frame <= reach:
                cuts[frame] = Cut(frame, "given")
        if o.detect_cuts and len(span) > 1:
            images = (self.colour.to_model(_finite(p.rgb)) for p in self.source.read(span))
            for cut in detect_cuts(span, images):
                cuts.setdefault(cut.frame, cut)
        return [cuts[f] for f in sorted(cuts)]

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> dict:
        import torch

        from rvmatte.optimize import prepare_model

        o = self.options
        started = time.perf_counter()
        if self.colour_warning:
            self.reporter.warning(self.colour_warning)
        self.outputs.prepare_directories()
        self.outputs.remove_stale_temps(self.plan.requested)
        model = self._load_model()
        self._check_lineage(model)
        param = next(model.parameters())
        tuning = defaults_for(param.device.type, str(param.dtype).replace("torch.", ""))
        torch_threads = torch.get_num_threads()
        torch.set_num_threads(o.threads or tuning.threads)
        restore_arithmetic = None
        try:
            if o.deterministic:
                from rvmatte.gpu import set_deterministic

                restore_arithmetic = set_deterministic(True)
            model = prepare_model(model, tuning, o.fold_batchnorm)
            if o.compile and (self.source.pixel_aspect != 1.0 or self.outputs.needs_segmentation):
                self.reporter.warning("--compile: anamorphic plates and the segmentation pass run the network's "
                                      "written-out forward, which is not compiled")
            elif o.compile:
                from rvmatte.optimize import CompiledNetwork

                model = CompiledNetwork(model, on_fallback=self.reporter.warning)
            if o.backend != "torch":
                model = self._select_backend(model, tuning)
            if o.cuda_graphs:
                model = self._graphed(model)
            return self._run(model, tuning, started)
        except BaseException as error:
            if self.version is not None:
                self._end_version(error)
            raise
        finally:
            torch.set_num_threads(torch_threads)
            if restore_arithmetic is not None:
                restore_arithmetic()

    def _graphed(self, model):
        """--cuda-graphs: the steady state replayed from a captured graph (rvmatte.cuda_graphs)."""
        o = self.options
        if o.compile:
            raise RvmatteError("--cuda-graphs and --compile exclude each other: choose one")
        if getattr(model, "backend_name", None):
            self.reporter.warning(f"--cuda-graphs: --backend {model.backend_name} runs its own graph, which is "
                                  "not captured")
            return model
        device = next(model.parameters()).device
        if device.type != "cuda":
            self.reporter.warning(f"--cuda-graphs: only on a CUDA device; the network runs as it is on {device.type}")
            return model
        if self.source.pixel_aspect != 1.0 or self.outputs.needs_segmentation:
            self.reporter.warning("--cuda-graphs: anamorphic plates and the segmentation pass run the network's "
                                  "written-out forward, which is not captured")
            return model
        from rvmatte.cuda_graphs import CudaGraphNetwork

        return CudaGraphNetwork(model)

    def _check_vram(self, model, ratio: float, chunk: int) -> None:
        """Before any frame: one blank forward of the shot's shape must fit the card (rvmatte.gpu)."""
        from rvmatte.gpu import check_vram_budget, dry_run

        h, w = self.source.height, self.source.width
        precision = str(next(model.parameters()).dtype).replace("torch.", "")
        check_vram_budget(dry_run(model, h, w, chunk, ratio),
                          f"a {w}x{h} frame at ratio {ratio:.3g} with --seq-chunk {chunk} in {precision}")

    def _check_lineage(self, model) -> None:
        """Tuned weights (a lineage sidecar beside them): their base is recorded in the headers, and
        a shot other than theirs gets one warning."""
        from rvmatte.train.lineage import other_shot_warning, read_lineage

        self.lineage = read_lineage(getattr(model, "weights_path", None), getattr(model, "weights_sha256", ""))
        if self.lineage:
            warning = other_shot_warning(self.lineage, self.source)
            if warning:
                self.reporter.warning(warning)

    def _select_backend(self, model, tuning):
        from rvmatte.backends import select

        o = self.options
        if o.compile and o.backend != "auto":
            raise RvmatteError(f"--compile is torch's; --backend {o.backend} exports its own graph")
        if o.compile:
            return model
        selected = select(o.backend, model, precision=o.precision, threads=o.threads or tuning.threads,
                          warn=self.reporter.warning)
        if selected is not model and (self.source.pixel_aspect != 1.0 or self.outputs.needs_segmentation):
            self.reporter.warning(f"--backend {selected.backend_name}: anamorphic plates and the segmentation pass "
                                  "run the network's written-out forward in torch")
        return selected

    def _run(self, model, tuning, started: float) -> dict:
        from rvmatte.device import device_name
        from rvmatte.ensemble import ForwardStreams, ReverseWindow, combine, has_reverse, postroll_frames
        from rvmatte.schedule import Step
        from rvmatte.transfer import for_device

        o = self.options
        device = next(model.parameters()).device
        streams = ForwardStreams(model, self.streams, downsample_ratio=o.downsample_ratio,
                                 pixel_aspect=self.source.pixel_aspect)
        session = streams.primary
        ratio = session.ratio_for(self.source.height, self.source.width)
        if session.ratio_note(self.source.height, self.source.width):
            self.reporter.warning(session.ratio_note(self.source.height, self.source.width))
        chunk = o.seq_chunk or tuning.seq_chunk
        if device.type == "cuda":
            self._check_vram(model, ratio, chunk)
        self.cuts = self._find_cuts()
        cut_frames = [c.frame for c in self.cuts]
        self.plan.compute = clip_preroll(self.plan.compute, self.plan.requested[0], cut_frames)
        steps = build_schedule(self.plan.compute, self.plan.requested, self.source.frames, cut_frames, o.warmup)
        window = None
        if has_reverse(self.streams):
            last = self.plan.requested[-1]
            steps += [Step(f, postroll=True) for f in postroll_frames(last, self._shot_reach(last, cut_frames))]
            window = ReverseWindow(model, downsample_ratio=o.downsample_ratio, pixel_aspect=self.source.pixel_aspect,
                                   reach=lambda f: self._shot_reach(f, cut_frames), chunk=chunk,
                                   check=check_network_output)
        attributes = self._attributes(model, ratio)
        if o.version_step in ("choose", "finish"):
            self._model_for_key, self._device_for_key = model, device_name(device)
            return self._version_task(attributes[KEY_ATTRIBUTE], json.loads(attributes[FIELDS_ATTRIBUTE]), started)
        if self.on_result_key is not None:
            self.on_result_key(attributes[KEY_ATTRIBUTE], json.loads(attributes[FIELDS_ATTRIBUTE]))
        if o.versions:
            self._enter_version(attributes[KEY_ATTRIBUTE], json.loads(attributes[FIELDS_ATTRIBUTE]))
        elif o.resume:
            self._find_complete(attributes[KEY_ATTRIBUTE], json.loads(attributes[FIELDS_ATTRIBUTE]))
        total = len(self.plan.requested)
        self.reporter.start({
            "version": __version__, "input": self.source.path, "frames": total,
            "first": self.plan.requested[0], "last": self.plan.requested[-1],
            "width": self.source.width, "height": self.source.height, "pixel_aspect": self.source.pixel_aspect,
            "device": device_name(device), "variant": attributes["rvmatte/variant"],
            "precision": str(next(model.parameters()).dtype).replace("torch.", ""),
            "downsample_ratio": ratio, "seq_chunk": chunk, "preroll": len(self.plan.compute) - total,
            "compiled": hasattr(model, "compiled_calls"), "backend": attributes["rvmatte/backend"],
            "input_colorspace": self.colour.input_space, "output_colorspace": self.colour.output_space,
            "weights": getattr(model, "weights_path", None), "weights_sha256": attributes["rvmatte/weights_sha256"],
            "base_weights_sha256": attributes.get("rvmatte/base_weights_sha256"),
            "outputs": self.outputs.describe(), "resume_complete": len(self._finished_frames()),
            "warmup": o.warmup, "cuts": [c.frame for c in self.cuts], "masks": self.masks.describe(),
            "ensemble": [s.name for s in self.streams],
            "output_version": self.version.describe() if self.version else None,
        })
        for cut in self.cuts:
            self.reporter.cut(cut.describe())
        if len(self._finished_frames()) == total:
            return self._finish(started, 0, total)

        # With --resume, the state is still rebuilt from the chunk start (preroll included),
        # so the frames written now match an uninterrupted run exactly.
        requested = set(self.plan.requested)
        written = skipped = done = 0
        pending: collections.deque = collections.deque()
        writers = o.writers or tuning.writers
        previous = None          # (forward streams' alpha, plate) of the last forward frame: instability
        first_frame_time = None
        transfer = for_device(device, pinned=tuning.pin_memory)
        segmentation = self.outputs.needs_segmentation

        def launch(batch):
            """Upload, inference and download of one chunk (queued on the GPU; see rvmatte.transfer)."""
            if batch[0][0].reset:
                streams.reset()
            src = transfer.upload([b[2] for b in batch])
            return transfer.download(*streams.infer_tensors(src, segmentation=segmentation))

        with self.outputs, ThreadPoolExecutor(max_workers=writers, thread_name_prefix="rvmatte-write",
                                                 initializer=lower_thread_priority) as pool, \
                Prefetch(self._read_model_frames(steps), depth=max(tuning.prefetch, chunk * 2)) as frames:
            items = window(frames) if window is not None else ((*item, None) for item in frames)
            for batch, (alphas, fgrs, seg) in transfer.pipeline(_batches(items, chunk), launch):
                for stream_pha, stream_fgr in zip(alphas, fgrs):
                    check_network_output([b[0].frame for b in batch], stream_pha, stream_fgr)
                for i, (step, plate, model_in, reverse) in enumerate(batch):
                    frame = step.frame
                    if step.warmup or step.reset:
                        previous = None
                    if step.warmup:
                        continue
                    forward_pha = combine([a[i] for a in alphas], [f[i] for f in fgrs])[0]
                    before, previous = previous, (forward_pha, model_in)
                    if not step.write or frame not in requested:
                        continue
                    frame_alphas = [a[i] for a in alphas] + ([reverse[0]] if reverse is not None else [])
                    frame_fgrs = [f[i] for f in fgrs] + ([reverse[1]] if reverse is not None else [])
                    pha_i, fgr_i = combine(frame_alphas, frame_fgrs)
                    results = FrameResults(frame, plate, model_in, pha_i, fgr_i, attributes,
                                           None if seg is None else seg[i], frame_alphas, forward_pha, before)
                    self._observe(results)
                    todo = self.outputs.kinds() - self.plan.complete.get(frame, frozenset())
                    if not todo:
                        future: Future = Future()
                        future.set_result(False)
                    else:
                        future = pool.submit(self._write, results, todo)
                    pending.append((frame, future))
                # Report finished frames in order, and keep the frames in flight bounded.
                while pending and (pending[0][1].done() or len(pending) > writers):
                    frame, future = pending.popleft()
                    wrote = future.result()
                    written += int(wrote)
                    skipped += int(not wrote)
                    done += 1
                    if first_frame_time is None:
                        first_frame_time = time.perf_counter()
                    self.reporter.frame(frame, done, total, self._fps(started, done), skipped=not wrote,
                                        **self._frame_report(frame))
            while pending:
                frame, future = pending.popleft()
                wrote = future.result()
                written += int(wrote)
                skipped += int(not wrote)
                done += 1
                self.reporter.frame(frame, done, total, self._fps(started, done), skipped=not wrote,
                                    **self._frame_report(frame))
        return self._finish(started, written, skipped, passes=True)

    @staticmethod
    def _fps(started: float, done: int) -> float:
        elapsed = time.perf_counter() - started
        return done / elapsed if elapsed > 0 else 0.0

    def _finish(self, started: float, written: int, skipped: int, passes: bool = False) -> dict:
        """The ``done`` summary; ``passes``: with what each pass adds (after a run that wrote frames)."""
        seconds = time.perf_counter() - started
        summary = {"frames": len(self.plan.requested), "written": written, "skipped": skipped,
                   "seconds": round(seconds, 3), "fps": round((written + skipped) / seconds, 3) if seconds else 0.0,
                   "outputs": self.outputs.describe()}
        for p in self.outputs.passes if passes else ():
            summary.update(p.summary())
        if self.version is not None:
            summary["output_version"] = self._complete_version()
        self.reporter.done(summary)
        return summary

    def _read_model_frames(self, steps: Sequence[Step]) -> Iterator[Tuple[Step, object, np.ndarray]]:
        """(step, plate, model input) for every step of the schedule, read and converted in order."""
        warned = set()
        plate_is_model_input = self._plate_is_model_input()
        for step, plate in zip(steps, self.source.read([s.frame for s in steps])):
            if getattr(plate, "warning", None):
                self.reporter.warning(plate.warning, frame=plate.frame)
            if plate_is_model_input:        # integers in 0..1: nothing to clean, convert or clip
                yield step, plate, plate.rgb
                continue
            count = clean_nonfinite(plate.rgb)
            if count and plate.frame not in warned:
                warned.add(plate.frame)
                self.reporter.warning(f"frame {plate.frame}: {count} NaN/inf values replaced by 0 "
                                      f"({plate.path})", frame=plate.frame)
            yield step, plate, self.colour.to_model(plate.rgb)

    def _finished_frames(self) -> List[int]:
        kinds = self.outputs.kinds()
        return [f for f, passes in self.plan.complete.items() if passes >= kinds]

    def _observe(self, results: FrameResults) -> None:
        """Each pass looks at the frame in order (main thread); what the streams gave is then dropped,
        so the frames in flight hold no more than their own results."""
        extra: dict = {}
        for p in self.outputs.passes:
            extra.update(p.observe(results))
        if extra:
            results.attributes = {**results.attributes, **extra}
        results.alphas = results.forward_pha = results.previous = None

    def _frame_report(self, frame: int) -> dict:
        report: dict = {}
        for p in self.outputs.passes:
            report.update(p.frame_report(frame))
        return report

    def _write(self, results: FrameResults, todo: frozenset) -> bool:
        """Write the passes ``todo`` of one frame (a writer thread); False: nothing kept on disk was written."""
        from rvmatte.io.stamp import remove_sidecar, write_sidecar

        frame = results.frame
        stamped = self.outputs.sidecar_paths(frame, todo)
        for path in stamped:         # never a new frame beside the sidecar of an older one
            remove_sidecar(path)
        # The network's alpha (results.band) decides the edge band; the masks only scale the passes.
        results.pha = self.masks.apply(frame, results.band) if self.masks else results.band
        if self.outputs.needs_foreground_colour:
            results.cache["linear"] = self.foreground.linear(results.plate.rgb, results.model_in, results.fgr,
                                                             results.band)
        for p in self.outputs.passes:
            if p.name in todo:
                p.write(results)
        attributes = results.attributes
        for path in stamped:
            write_sidecar(path, attributes[KEY_ATTRIBUTE], json.loads(attributes[FIELDS_ATTRIBUTE]))
        return any(p.per_frame and p.name in todo for p in self.outputs.passes)

    def foreground_linear(self, plate_rgb: np.ndarray, model_in: np.ndarray, model_fgr: np.ndarray,
                          pha: Optional[np.ndarray] = None) -> np.ndarray:
        """The run's unpremultiplied foreground colour in the output space (rvmatte.passes.ForegroundColour)."""
        return self.foreground.linear(plate_rgb, model_in, model_fgr, pha)

    def premultiplied_foreground(self, plate_rgb: np.ndarray, model_in: np.ndarray, model_fgr: np.ndarray,
                                 pha: np.ndarray, linear: Optional[np.ndarray] = None,
                                 band: Optional[np.ndarray] = None) -> np.ndarray:
        """RGBA of the EXR foreground pass (rvmatte.passes.ForegroundColour.premultiplied)."""
        return self.foreground.premultiplied(plate_rgb, model_in, model_fgr, pha, linear, band)

    def foreground_display(self, plate_rgb: np.ndarray, model_in: np.ndarray, model_fgr: np.ndarray,
                           pha: Optional[np.ndarray] = None) -> np.ndarray:
        """The straight display-encoded foreground of review images (rvmatte.passes.ForegroundColour.display)."""
        return self.foreground.display(plate_rgb, model_in, model_fgr, pha)

    def _plate_is_model_input(self) -> bool:
        """Integer plates already in the network's sRGB space: the model input is the plate itself
        (integers are in 0..1, so nothing is clipped), which makes its linear-light delta trivial."""
        return not self.source.is_float and self.colour.input_space == self.colour.model_space


def _batches(items: Iterator, size: int) -> Iterator[list]:
    """Groups of up to ``size`` items; a step that resets the state always starts a new group."""
    batch: list = []
    for item in items:
        if batch and item[0].reset:
            yield batch
            batch = []
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _finite(rgb: np.ndarray) -> np.ndarray:
    clean_nonfinite(rgb)
    return rgb


class Prefetch:
    """Runs an iterator in a background thread with a bounded queue (reading overlaps inference)."""

    _END = object()

    def __init__(self, iterator: Iterator, depth: int):
        self._iterator = iterator
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="rvmatte-read", daemon=True)

    def _fill(self) -> None:
        lower_thread_priority()
        try:
            for item in self._iterator:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as exc:   # handed to the consumer, which re-raises it
            self._put(exc)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __enter__(self):
        self._thread.start()
        return self

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        return False


def run(options: RunOptions, reporter: Optional[Reporter] = None) -> dict:
    """Run a whole job; raises RvmatteError subclasses for user mistakes."""
    return Job(options, reporter).run()
