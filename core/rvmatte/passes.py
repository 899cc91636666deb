"""The outputs of ``rvmatte run``, one pass object each (docs/passes.md).

A pass knows its name and option, the files it writes (channels, pixel type, colour
tagging), the header entries and result-key fields it contributes, what it computes from a
frame's results, and how it is written: atomically, through ``rvmatte.io.writing``. The job
builds the passes a run asks for and hands each written frame to them; it knows none of
them by name, so adding an output means adding one ``Pass`` subclass to ``PASSES`` (with
``register``), not editing the job.

Per frame the job calls, for every pass of the run: ``observe`` in the main thread, in frame
order (stateful work such as the confidence pass's comparison with the previous frame; it
may return header entries for all the frame's files), then, in a writer thread, ``write`` for
the passes not already complete on disk (``--resume``). Around the frames, ``open`` / ``close``
(or ``abort`` on failure) give a pass a life cycle: movies, the contact sheet, reports.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import ClassVar, Dict, List, Optional, Sequence, Tuple, Type

import numpy as np

from rvmatte.errors import InputError, OutputError
from rvmatte.foreground import blend_edge, box_around, edge_band_attributes
from rvmatte.output_checks import clamp_to_half

FOREGROUND_SOURCES = ("edge", "model", "plate")
SEGMENTATION_CHANNEL = "segmentation"
QC_ATTRIBUTE = "rvmatte/qc_score"
CHECK_FRAMES = 10        # frames the run's summary lists to check, worst first


@dataclass
class RunContext:
    """What the job lends its passes for the run (a pass never reaches back into the job)."""

    options: object                    # RunOptions
    source: object                     # the input (rvmatte.io.open_input)
    colour: object                     # ColourPipeline of the run
    reporter: object
    frames: List[int]                  # the requested frames, in order
    foreground: "ForegroundColour"
    backgrounds: object = None         # rvmatte.review.Backgrounds, when a pass composites


@dataclass
class FrameResults:
    """One written frame, as its passes see it.

    ``band`` is the network's alpha, ``pha`` the alpha written (holdout/garbage mattes applied;
    set in the writer thread). ``alphas`` (each stream's alpha), ``forward_pha`` and ``previous``
    (the forward alpha and model input of the frame before, None at a shot's start) are for
    ``observe`` only: they are dropped before the frame goes to the writers. ``data`` holds what
    ``observe`` computed for ``write``, by pass name; ``cache`` what passes share (``linear``:
    the unpremultiplied foreground in the output space; the composite)."""

    frame: int
    plate: object                      # .rgb (as read, NaN cleaned), .header
    model_in: np.ndarray               # the network's input, sRGB-encoded 0..1 (H, W, 3)
    band: np.ndarray                   # the network's (combined) alpha (H, W)
    fgr: np.ndarray                    # the network's (combined) foreground, sRGB-encoded (H, W, 3)
    attributes: dict                   # header entries of this frame's files (result key included)
    seg: Optional[np.ndarray] = None   # segmentation probability (H, W), when a pass asked for it
    alphas: Optional[list] = None
    forward_pha: Optional[np.ndarray] = None
    previous: Optional[tuple] = None
    pha: Optional[np.ndarray] = None
    data: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)


class ForegroundColour:
    """The foreground colour of the run's ``--foreground-source``: edge, model or plate (rvmatte.foreground)."""

    def __init__(self, colour, options, plate_is_model_input: bool):
        if options.foreground_source not in FOREGROUND_SOURCES:
            raise InputError(f"--foreground-source {options.foreground_source!r}: expected edge, model or plate")
        self.colour = colour
        self.options = options
        self.plate_is_model_input = plate_is_model_input

    @property
    def source(self) -> str:
        return self.options.foreground_source

    def linear(self, plate_rgb: np.ndarray, model_in: np.ndarray, model_fgr: np.ndarray,
               pha: Optional[np.ndarray] = None) -> np.ndarray:
        """The unpremultiplied foreground colour in the output space.

        ``model`` source: the network's change to each pixel is applied in linear light,
        ``plate + (lin(fgr) - lin(model input))``, so a pixel the network leaves alone keeps
        the plate's value exactly, HDR highlights included. ``edge`` source: that colour only
        in the soft band of the alpha ``pha``, the plate exactly where the subject is solid
        (rvmatte.foreground).
        """
        source = self.source
        if source == "model" and self.plate_is_model_input:
            return self.colour.model_to_output(model_fgr)      # plate + (fgr - plate), one conversion
        plate = self.colour.to_output(plate_rgb)
        if source == "plate":
            return plate
        if source == "edge" and pha is None:
            raise ValueError("the edge foreground needs the alpha")
        delta = self.colour.model_to_output(model_fgr)      # new arrays: updated in place (memory)
        if not self.plate_is_model_input:
            delta -= self.colour.model_to_output(model_in)
            delta += plate                                  # the model source's colour
        if source == "edge":
            return blend_edge(plate, delta, pha)
        return delta

    def premultiplied(self, plate_rgb: np.ndarray, model_in: np.ndarray, model_fgr: np.ndarray,
                      pha: np.ndarray, linear: Optional[np.ndarray] = None,
                      band: Optional[np.ndarray] = None) -> np.ndarray:
        """RGBA for the EXR foreground pass: ``linear`` times alpha, and alpha.

        Colour is computed only inside the box around alpha > 0 (``linear``, when the review
        already converted the whole frame, is cropped instead): outside it the premultiplied
        colour is 0 whatever the plate holds (its NaN/inf were cleaned on reading), and a matted
        subject rarely fills the frame (the conversions were a quarter of a 1080p EXR frame's CPU)."""
        rgba = np.zeros(pha.shape + (4,), np.float32)
        rgba[:, :, 3] = pha
        box = box_around(pha > 0)
        if box is None:
            return rgba
        if linear is None:
            band = pha if band is None else band     # the alpha that decides the edge band (before masks)
            linear = self.linear(plate_rgb[box], model_in[box], model_fgr[box], band[box])
        else:
            linear = linear[box]
        np.multiply(linear, pha[box][:, :, None], out=rgba[box][:, :, :3])
        return rgba

    def display(self, plate_rgb: np.ndarray, model_in: np.ndarray, model_fgr: np.ndarray,
                pha: Optional[np.ndarray] = None) -> np.ndarray:
        """The straight foreground colour, display-encoded (sRGB) in 0..1, for review images.

        When the plate reached the network unchanged (``plate_is_model_input``) the round
        trip through linear light gives back the network's own values (within float round-off),
        so they are used directly (the ``edge`` blend is then done on those display values).
        """
        if self.plate_is_model_input:
            if self.source == "edge":
                return blend_edge(plate_rgb.copy(), model_fgr, pha)
            return model_fgr if self.source == "model" else plate_rgb
        linear = self.linear(plate_rgb, model_in, model_fgr, pha)
        return np.clip(self.colour.output_to_model(linear), 0.0, 1.0)


# -- the interface ----------------------------------------------------------------------------
class Pass:
    """One output of a run. Subclasses set the class attributes and override what they need.

    Class-level (``key_fields``, ``header_entries``): asked of every registered pass, whether
    the run writes it or not, so a frame's result key never depends on which passes are written
    (``--resume`` can add a pass to a finished shot and keep the others). Both must return {}
    for the default options, so registering a pass changes no existing key."""

    name: ClassVar[str] = ""                 # in describe(), --resume's bookkeeping, farm plans
    option: ClassVar[str] = ""               # its RunOptions field ("": RunOptions.passes[name])
    flag: ClassVar[str] = ""                 # its CLI option, for messages (default --<name>)
    movies: ClassVar[bool] = False           # a movie file (.mp4, .mov…) may stand for the pattern
    exr_only: ClassVar[bool] = False
    per_frame: ClassVar[bool] = True         # False: one file for the run (never complete on disk)
    standalone: ClassVar[bool] = True        # enough output for a run on its own
    needs_segmentation: ClassVar[bool] = False    # the network's segmentation head must run
    needs_foreground_colour: ClassVar[bool] = False   # uses the whole frame's foreground colour
    needs_backgrounds: ClassVar[bool] = False         # composites over --background(-colour)

    def __init__(self, spec: str):
        self.spec = spec
        self.target = self.make_target(spec)
        self.context: Optional[RunContext] = None

    # class-level: what the pass adds to every run's key and headers
    @classmethod
    def requested(cls, options) -> Optional[str]:
        """The pattern (or path) the run gives this pass; None: not written."""
        if cls.option:
            return getattr(options, cls.option, None)
        return (getattr(options, "passes", None) or {}).get(cls.name)

    @classmethod
    def key_fields(cls, options) -> dict:
        """Result-key fields (rvmatte.result_key) from the run's options."""
        return {}

    @classmethod
    def header_entries(cls, options) -> dict:
        """Header entries of every file the run writes."""
        return {}

    @classmethod
    def cli_flag(cls) -> str:
        return cls.flag or f"--{cls.name.replace('_', '-')}"

    # the files
    def make_target(self, spec: str):
        """A frame pattern (``.path(frame)``, ``.hashes``) or a MovieTarget."""
        from rvmatte.io import is_movie, output_pattern
        from rvmatte.io.movie_out import MovieTarget, is_movie_output

        if self.movies and is_movie_output(spec):
            return MovieTarget(spec)
        if self.movies and is_movie(spec):
            raise OutputError(f"{spec}: movie outputs are .mp4/.m4v/.mkv (H.264) or .mov (ProRes 4444)")
        pattern = output_pattern(spec)
        if self.exr_only and not spec.lower().endswith(".exr"):
            raise OutputError(f"{self.cli_flag()} {spec}: the {self.name} pass is an EXR sequence (.exr)")
        return pattern

    @property
    def hashes(self) -> str:
        return self.target.hashes

    @property
    def is_movie(self) -> bool:
        return getattr(self.target, "is_movie", False)

    def path(self, frame: int) -> str:
        return self.target.path(frame)

    @classmethod
    def channels(cls, path: str) -> Optional[List[str]]:
        """The channels a complete EXR file of this pass has (None: not checked)."""
        return None

    def is_complete(self, frame: int, key: Optional[str] = None, mismatched: Optional[list] = None) -> bool:
        """Whether this frame's file reads back whole and, given a result ``key``, was made with it;
        the fields of a whole file made with another key are appended to ``mismatched``."""
        from rvmatte.io import frame_is_complete
        from rvmatte.io.stamp import stored_result

        if not self.per_frame:
            return False
        path = self.path(frame)
        if not frame_is_complete(path, self.channels(path)):
            return False
        if key is not None:
            stored, fields = stored_result(path)
            if stored != key:
                if mismatched is not None:
                    mismatched.append(fields if stored else None)
                return False
        return True

    # the run
    def setup(self, context: RunContext) -> None:
        """Before any work (errors here stop the run before anything is written)."""
        self.context = context

    def observe(self, results: FrameResults) -> dict:
        """Main thread, in frame order, for every frame the run writes or keeps: header entries
        this pass adds to all the frame's files."""
        return {}

    def write(self, results: FrameResults) -> None:
        raise NotImplementedError

    def frame_report(self, frame: int) -> dict:
        """Fields of the frame's progress event (keywords of Reporter.frame)."""
        return {}

    def summary(self) -> dict:
        """Entries of the run's ``done`` summary."""
        return {}

    def open(self) -> None:
        """Before the first frame."""

    def close(self) -> None:
        """After the last frame was written."""

    def abort(self) -> None:
        """The run failed: leave nothing half-made."""

    # helpers for subclasses
    def exr_compression(self) -> str:
        """The run's compression; dwaa/dwab (lossy, for colour) fall back to zip for data channels."""
        compression = self.context.options.compression
        return "zip" if compression.lower().startswith("dwa") else compression


class MoviePass(Pass):
    """A pass whose pattern may be a movie file: frames go into it in frame order."""

    movies = True

    def open(self) -> None:
        from rvmatte.io.movie_out import DEFAULT_FPS, InOrder, MovieWriter

        self.movie = None
        if not self.is_movie:
            return
        o, source = self.context.options, self.context.source
        writer = MovieWriter(self.hashes, source.width, source.height, o.fps or source.fps or DEFAULT_FPS,
                             bitrate=int(o.bitrate * 1_000_000) if o.bitrate else None,
                             pixel_aspect=source.pixel_aspect)
        self.movie = InOrder(writer, self.context.frames)

    def movie_frame(self, frame: int, pixels: np.ndarray) -> None:
        self.movie.put(frame, pixels)

    def close(self) -> None:
        if getattr(self, "movie", None) is not None:
            self.movie.writer.close()

    def abort(self) -> None:
        if getattr(self, "movie", None) is not None:
            self.movie.writer.abort()
        self.movie = None


PASSES: List[Type[Pass]] = []


def register(cls: Type[Pass]) -> Type[Pass]:
    """Add a pass class to every run (a decorator). The order of PASSES is the order of the
    outputs in progress events and of the writes within a frame."""
    if any(p.name == cls.name for p in PASSES):
        raise ValueError(f"a pass named {cls.name!r} is already registered")
    PASSES.append(cls)
    return cls


def unregister(cls: Type[Pass]) -> None:
    PASSES.remove(cls)


def key_fields(options) -> dict:
    """The result-key fields every registered pass contributes."""
    fields: dict = {}
    for cls in PASSES:
        fields.update(cls.key_fields(options))
    return fields


def header_entries(options) -> dict:
    entries: dict = {}
    for cls in PASSES:
        entries.update(cls.header_entries(options))
    return entries


def exr_channels() -> Dict[str, Tuple[str, ...]]:
    """Pass name → channels of its EXR files, for checks outside a run (``rvmatte farm status``)."""
    channels = {}
    for cls in PASSES:
        names = cls.channels("x.exr")
        if names is not None:
            channels[cls.name] = tuple(names)
    return channels


# -- the built-in passes ------------------------------------------------------------------------
@register
class AlphaPass(MoviePass):
    """``--alpha``: EXR channel ``A`` (half or float, scene-linear tag), else a grey review image."""

    name = option = "alpha"

    @classmethod
    def channels(cls, path):
        return ["A"] if path.lower().endswith(".exr") else None

    def write(self, r: FrameResults) -> None:
        from rvmatte.io import write_frame

        path = self.path(r.frame)
        if self.is_movie:
            self.movie_frame(r.frame, r.pha)
        elif path.lower().endswith(".exr"):
            o, colour = self.context.options, self.context.colour
            write_frame(path, r.pha[:, :, None], ["A"], header=r.plate.header, bit_depth=o.bit_depth,
                        compression=self.exr_compression(), colorspace=colour.output_space,
                        attributes=r.attributes, ocio_config=colour.config_name)
        else:
            write_frame(path, r.pha[:, :, None], ["Y"], header=r.plate.header)


@register
class ForegroundPass(MoviePass):
    """``--foreground``: EXR ``R,G,B,A`` premultiplied in linear light, else straight display colour."""

    name = option = "foreground"

    @classmethod
    def key_fields(cls, options) -> dict:
        fields = {"foreground_source": options.foreground_source}
        if options.foreground_source == "edge":         # the band's thresholds live in the code: key them too
            from rvmatte.foreground import EDGE_BAND_HIGH, EDGE_BAND_LOW

            fields["foreground_band"] = [EDGE_BAND_LOW, EDGE_BAND_HIGH]
        return fields

    @classmethod
    def header_entries(cls, options) -> dict:
        return {"rvmatte/foreground_source": options.foreground_source,
                **(edge_band_attributes() if options.foreground_source == "edge" else {})}

    @classmethod
    def channels(cls, path):
        return ["R", "G", "B", "A"] if path.lower().endswith(".exr") else None

    def write(self, r: FrameResults) -> None:
        from rvmatte.io import write_frame

        o, colour, fg = self.context.options, self.context.colour, self.context.foreground
        path = self.path(r.frame)
        if path.lower().endswith(".exr"):
            rgba = fg.premultiplied(r.plate.rgb, r.model_in, r.fgr, r.pha, r.cache.get("linear"), r.band)
            if o.bit_depth == "half":
                clamp_to_half(rgba, r.frame, "foreground", self.context.reporter)
            write_frame(path, rgba, ["R", "G", "B", "A"], header=r.plate.header, bit_depth=o.bit_depth,
                        compression=o.compression, colorspace=colour.output_space, attributes=r.attributes,
                        ocio_config=colour.config_name)
            return
        # Review images: display-encoded, straight (unpremultiplied) colour, as PNG expects.
        display = fg.display(r.plate.rgb, r.model_in, r.fgr, r.band)
        if self.is_movie:
            self.movie_frame(r.frame, np.concatenate([display, r.pha[:, :, None]], axis=2))
        else:               # colour and alpha apart: the PNG writer interleaves them as it quantises
            write_frame(path, [display, r.pha], ["R", "G", "B", "A"], header=r.plate.header)


def composite_of(r: FrameResults, backgrounds) -> np.ndarray:
    """The foreground over the frame's background in linear light (computed once per frame)."""
    if "composite" not in r.cache:
        a = r.pha[:, :, None]
        r.cache["composite"] = r.cache["linear"] * a + backgrounds.for_frame(r.frame) * (1.0 - a)
    return r.cache["composite"]


@register
class CompositePass(MoviePass):
    """``--composite``: the foreground over a colour or a background, EXR ``R,G,B`` scene-linear,
    else display-encoded."""

    name = option = "composite"
    needs_foreground_colour = needs_backgrounds = True

    @classmethod
    def channels(cls, path):
        return ["R", "G", "B"] if path.lower().endswith(".exr") else None

    def write(self, r: FrameResults) -> None:
        from rvmatte.io import write_frame

        o, colour = self.context.options, self.context.colour
        composite = composite_of(r, self.context.backgrounds)
        path = self.path(r.frame)
        if path.lower().endswith(".exr"):
            write_frame(path, composite, ["R", "G", "B"], header=r.plate.header, bit_depth=o.bit_depth,
                        compression=o.compression, colorspace=colour.output_space, attributes=r.attributes,
                        ocio_config=colour.config_name)
            return
        display = np.clip(colour.output_to_model(composite), 0.0, 1.0)
        r.cache["composite_display"] = display
        if self.is_movie:
            self.movie_frame(r.frame, display)
        else:
            write_frame(path, display, ["R", "G", "B"], header=r.plate.header)


@register
class SegmentationPass(Pass):
    """``--segmentation``: the segmentation head's probability, EXR channel ``segmentation`` (no
    colour tag: data), else a grey image."""

    name = option = "segmentation"
    needs_segmentation = True

    @classmethod
    def channels(cls, path):
        return [SEGMENTATION_CHANNEL] if path.lower().endswith(".exr") else None

    def write(self, r: FrameResults) -> None:
        from rvmatte.io import write_frame

        if r.seg is None:
            return
        path = self.path(r.frame)
        if path.lower().endswith(".exr"):
            write_frame(path, r.seg[:, :, None], [SEGMENTATION_CHANNEL], header=r.plate.header,
                        bit_depth=self.context.options.bit_depth, compression=self.exr_compression(),
                        attributes=r.attributes)
        else:
            write_frame(path, r.seg[:, :, None], ["Y"], header=r.plate.header)


@register
class ConfidencePass(Pass):
    """``--confidence`` (experimental): EXR channel ``Y``, half, colour space ``raw`` (never converted);
    each frame's QC score goes into every header of the frame (``rvmatte/qc_score``), its progress
    event and ``<name>.qc.json`` (rvmatte.confidence)."""

    name = option = "confidence"
    exr_only = True
    standalone = False

    def __init__(self, spec: str):
        super().__init__(spec)
        self.scores: Dict[int, float] = {}

    @classmethod
    def channels(cls, path):
        return ["Y"] if path.lower().endswith(".exr") else None

    def observe(self, r: FrameResults) -> dict:
        from rvmatte.confidence import qc_score, uncertainty

        uncertain = uncertainty(r.alphas, r.forward_pha, r.previous, r.model_in)
        self.scores[r.frame] = qc_score(uncertain)
        r.data[self.name] = 1.0 - uncertain
        return {QC_ATTRIBUTE: self.scores[r.frame]}

    def write(self, r: FrameResults) -> None:
        from rvmatte.io import write_frame

        write_frame(self.path(r.frame), r.data[self.name][:, :, None], ["Y"], header=r.plate.header,
                    bit_depth="half", compression=self.exr_compression(), colorspace="raw", attributes=r.attributes)

    def frame_report(self, frame: int) -> dict:
        return {"qc_score": self.scores.get(frame)}

    def summary(self) -> dict:
        from rvmatte.confidence import ranked

        if not self.scores:
            return {}
        return {"check": [{"frame": r["frame"], "score": r["score"]} for r in ranked(self.scores)[:CHECK_FRAMES]]}

    def report_path(self) -> str:
        """``<name>.qc.json`` beside the pass (``<name>.qc.A-B.json`` for part of the shot, so farm
        chunks never write the same file)."""
        source, frames = self.context.source, self.context.frames
        part = ""
        if frames != list(source.frames):
            part = f".{frames[0]}-{frames[-1]}"
        return os.path.join(os.path.dirname(self.path(0)), f"{source.name}.qc{part}.json")

    def close(self) -> None:
        from rvmatte.confidence import ranked
        from rvmatte.io.writing import write_text_atomically

        if not self.scores:
            return
        document = {"input": self.context.source.path, "score": "mean uncertainty of the frame (0 = nothing to check)",
                    "frames": ranked(self.scores)}
        write_text_atomically(self.report_path(), json.dumps(document, indent=1) + "\n")


@register
class ContactSheetPass(Pass):
    """``--contact-sheet``: one PNG, plate | alpha | composite on a few frames (rvmatte.review)."""

    name = option = "contact_sheet"
    flag = "--contact-sheet"
    per_frame = False
    needs_foreground_colour = needs_backgrounds = True

    def make_target(self, spec: str):
        return _SinglePath(spec)

    def setup(self, context: RunContext) -> None:
        from rvmatte.review import ContactSheet

        super().setup(context)
        source = context.source
        self.sheet = ContactSheet(self.spec, context.frames, source.width, source.height, source.pixel_aspect)

    def write(self, r: FrameResults) -> None:
        if not self.sheet.wants(r.frame):
            return
        display = r.cache.get("composite_display")
        if display is None:
            display = self.context.colour.output_to_model(composite_of(r, self.context.backgrounds))
        self.sheet.add(r.frame, r.model_in, r.pha, display)

    def close(self) -> None:
        self.sheet.write()


class _SinglePath:
    """One file for the whole run where a frame pattern would be."""

    def __init__(self, path: str):
        self.hashes = path

    def path(self, frame: int) -> str:
        return self.hashes


# -- the passes of one run ----------------------------------------------------------------------
class Outputs:
    """The passes a run writes, checked before any work starts. As a context manager it opens
    them before the first frame and closes them after the last (aborts them on failure)."""

    def __init__(self, options, source, registry: Optional[Sequence[Type[Pass]]] = None):
        self.passes: List[Pass] = []
        for cls in (PASSES if registry is None else registry):
            spec = cls.requested(options)
            if spec:
                self.passes.append(cls(spec))
        if not any(p.standalone for p in self.passes):
            raise OutputError("no output requested: give --alpha, --foreground and/or --composite (or -o DIR)")
        named = [(p.cli_flag(), p.hashes) for p in self._named()]
        for i, (name, hashes) in enumerate(named):
            for other, other_hashes in named[i + 1:]:
                if hashes == other_hashes:
                    raise OutputError(f"{name} and {other} are the same pattern: {hashes}")
        inputs = {os.path.realpath(source.frame_path(f)) for f in source.frames[:1] + source.frames[-1:]}
        for pattern in self.patterns():
            for frame in source.frames[:1] + source.frames[-1:]:
                if os.path.realpath(pattern.path(frame)) in inputs:
                    raise OutputError(f"output pattern {pattern.hashes} would overwrite the input {source.path}")
        self.backgrounds = None

    def get(self, name: str) -> Optional[Pass]:
        return next((p for p in self.passes if p.name == name), None)

    @property
    def needs_segmentation(self) -> bool:
        return any(p.needs_segmentation for p in self.passes)

    @property
    def needs_foreground_colour(self) -> bool:
        return any(p.needs_foreground_colour for p in self.passes)

    def setup(self, context: RunContext) -> None:
        """Hand each pass the run's context (the composite's background is opened here, so a bad
        one fails before any work)."""
        from rvmatte.review import Backgrounds

        o, source = context.options, context.source
        if any(p.needs_backgrounds for p in self.passes):
            self.backgrounds = context.backgrounds = Backgrounds(
                context.colour, source.width, source.height, context.frames, rgb=o.background_colour,
                path=o.background, reporter=context.reporter)
        elif o.background or o.background_colour:
            users = " or ".join(cls.cli_flag() for cls in PASSES if cls.needs_backgrounds)
            raise InputError(f"--background/--background-colour need {users}")
        for p in self.passes:
            p.setup(context)

    def relocate(self, root: str, folder: str) -> None:
        """Every pass from under ``root`` to the same place under ``folder`` (a version folder of
        ``rvmatte run --versions``), set up again for the run."""
        from rvmatte.versions import relocated

        for p in self.passes:
            p.spec = relocated(root, folder, p.spec)
            p.target = p.make_target(p.spec)
            if p.context is not None:
                p.setup(p.context)

    def _named(self) -> List[Pass]:
        """The passes with a file per frame."""
        return [p for p in self.passes if p.per_frame]

    def patterns(self):
        return [p.target for p in self._named()]

    def movies(self):
        return [p.target for p in self._named() if p.is_movie]

    def files(self, frames: Sequence[int]):
        """(flag, path) of every file the passes may write for these frames."""
        for p in self.passes:
            if not p.per_frame or p.is_movie:
                yield p.cli_flag(), p.path(0)
                continue
            for frame in frames:
                yield p.cli_flag(), p.path(frame)

    def prepare_directories(self) -> None:
        from rvmatte.io.writing import make_output_folder

        for path in [p.path(0) for p in self.passes]:
            make_output_folder(os.path.dirname(os.path.abspath(path)) or ".", writable=True)

    def remove_stale_temps(self, frames: Sequence[int]) -> None:
        from rvmatte.io import remove_temp_files
        from rvmatte.io.stamp import has_header_room, sidecar_path

        remove_temp_files(p.path(f) for p in self._named() for f in frames)
        remove_temp_files(sidecar_path(p.path(f)) for p in self._named() for f in frames
                          if not p.is_movie and not has_header_room(p.path(f)))

    def describe(self) -> dict:
        return {p.name: p.hashes for p in self.passes}

    def complete_passes(self, frame: int, key: Optional[str] = None, mismatched: Optional[list] = None) -> frozenset:
        """The passes of this frame whose files read back completely and, given a result ``key``, were
        made with it; the fields of each complete file made with another key are appended to
        ``mismatched`` (None: no key recorded)."""
        return frozenset(p.name for p in self._named() if p.is_complete(frame, key, mismatched))

    def kinds(self) -> frozenset:
        """What each frame contributes to; a pass without a file per frame (the contact sheet) is
        never complete on disk, so a run with one computes every frame (complete files are kept)."""
        return frozenset(p.name for p in self.passes)

    def sidecar_paths(self, frame: int, todo: frozenset) -> List[str]:
        """The frame files written now that have no room for the result key in their header."""
        from rvmatte.io.stamp import has_header_room

        return [p.path(frame) for p in self._named()
                if p.name in todo and not p.is_movie and not has_header_room(p.path(frame))]

    def __enter__(self):
        opened = []
        try:
            for p in self.passes:
                p.open()
                opened.append(p)
        except BaseException:
            for p in opened:
                p.abort()
            raise
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self.abort()
            return False
        try:
            for p in self.passes:
                p.close()
        except BaseException:
            self.abort()
            raise
        return False

    def abort(self) -> None:
        for p in self.passes:
            p.abort()
