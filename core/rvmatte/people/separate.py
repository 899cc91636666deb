"""The people pass: split finished alpha (and foreground) passes into one matte per person.

It runs over the whole shot, because a mask late in the shot must track back
to its start: forwards from the first anchor frame to the end (re-anchoring at
every later mask or point), then backwards from the first anchor frame to the
shot's first frame. Each frame is written once, as soon as it is labelled, so
memory stays one frame whatever the shot length.

Per frame, in the output folder:

* ``<shot>.people.####.exr``: ``<person>.A`` per person plus the
  ``CryptoPerson`` rank layers (32-bit float, zip, always);
* with targets (``--target``/``--target-point``): ``<shot>.alpha.####.exr``,
  the alpha of the picked persons only (everyone else 0; inside a person,
  RVM's alpha unchanged), and ``<shot>.fgr.####.exr`` from ``--foreground``
  multiplied the same way (it is premultiplied, so that is exact).

Every file carries the pass's result key (``people_stamp``). On a farm the pass
is split in two: one task labels the whole shot into label maps (kept, keyed,
and resumed after the last one made by an interrupted try), then one task per
chunk writes that chunk's outputs from them.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import OpenImageIO as oiio

from rvmatte.errors import InputError, one_line
from rvmatte.io.images import fit_to_display
from rvmatte.io.writing import write_frame
from rvmatte.mattes import MatteSequence
from rvmatte.people import cryptomatte, targets, tracking


@dataclass
class PeopleResult:
    names: List[str]
    frames: int
    seconds: float
    people_pattern: str
    alpha_pattern: Optional[str]
    foreground_pattern: Optional[str]
    contact_sheets: List[str] = field(default_factory=list)


def _read_rgba(path: str, frame: int) -> np.ndarray:
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InputError(f"--foreground: frame {frame}: cannot read {path} ({one_line(oiio.geterror())})")
    try:
        spec = inp.spec()
        pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
        if pixels is None:
            raise InputError(f"--foreground: frame {frame}: cannot read {path} ({one_line(inp.geterror())})")
        names = list(spec.channelnames)
        colorspace = spec.get_string_attribute("oiio:ColorSpace") or None
    finally:
        inp.close()
    pixels = fit_to_display(np.asarray(pixels, np.float32).reshape(spec.height, spec.width, -1), spec)
    return pixels, names, colorspace


#: The parts of the pass a farm task runs alone (``rvmatte run --people-step label|write``); None: both.
STEPS = ("label", "write")


def separate(shot: str, alpha: str, people: Sequence[targets.Person], output_dir: str, *,
             foreground: Optional[str] = None, bit_depth: str = "half", compression: str = "zip",
             layer: Optional[str] = None, start_frame: Optional[int] = None,
             on_frame: Optional[Callable[[int, int, int], None]] = None, alpha_out: Optional[str] = None,
             foreground_out: Optional[str] = None, frames: Optional[Sequence[int]] = None,
             labels: Optional[str] = None, step: Optional[str] = None,
             contact_sheets: bool = False) -> PeopleResult:
    """Label every frame of ``shot`` and write the per-person outputs (see the module docstring).

    ``frames``: the frames labelled (default: the whole shot), or with ``step="write"`` the frames
    written. ``labels``: a ``####`` EXR pattern for the label maps. ``step``: None labels and writes
    each frame in one go (the label maps are kept if ``labels`` is given); ``"label"`` only makes the
    label maps, carrying on after the last complete one of an interrupted run; ``"write"`` writes
    ``frames`` from label maps already made (one farm task per chunk, after the one labelling task).
    ``contact_sheets``: a review sheet per person, ``<shot>.people.<name>.contact.png`` (plate | their
    matte | the plate × their matte over grey, on frames spread over the shot), for shots without
    ground truth; not with ``step``."""
    from rvmatte.io import open_input

    if step is not None and (step not in STEPS or not labels):
        raise ValueError(f"people step {step!r} needs a labels pattern")
    source = open_input(shot, layer=layer, start_frame=start_frame)
    frames = list(frames) if frames is not None else source.frame_range()
    width, height = source.width, source.height
    alphas = MatteSequence(alpha, "--alpha")
    alphas.check_covers(frames, width, height)
    fgr = MatteSequence(foreground, "--foreground") if foreground else None
    if fgr is not None:
        fgr.check_covers(frames, width, height)
    picked = any(p.masks or p.points for p in people)
    names = [p.name for p in people]
    name = source.name
    people_pattern, alpha_pattern, fgr_pattern = output_patterns(name, output_dir, picked, fgr is not None,
                                                                 alpha_out, foreground_out)
    stamp = people_stamp(alphas.frame_path(frames[0]), people, bit_depth, compression)
    began = time.perf_counter()

    sheets = []
    if contact_sheets and step is None:
        from rvmatte.review import ContactSheet

        sheets = [ContactSheet(os.path.join(output_dir, f"{name}.people.{person}.contact.png"), frames, width, height,
                               source.pixel_aspect, columns=("plate", f"{person} alpha", f"{person} over grey"))
                  for person in names]

    def write(frame, plate, matte, labelled):
        if step != "label":
            _write(frame, plate.header, matte, labelled, names, people_pattern, alpha_pattern, fgr_pattern, fgr,
                   bit_depth, compression, stamp)
        if sheets and sheets[0].wants(frame):
            import cv2

            # Thumbnails by area averaging (OpenCV's, already needed here): OpenImageIO's filtered resize
            # of full frames cost seconds a frame at 1280x720 on the shared machine.
            cell = sheets[0].cell
            shown = cv2.resize(tracking.colour8(plate.rgb, source.is_float)[:, :, ::-1].astype(np.float32) / 255,
                               cell, interpolation=cv2.INTER_AREA)
            stack = np.stack([np.where(labelled == label, matte, np.float32(0)) for label in range(1, len(names) + 1)],
                             axis=2)
            small = cv2.resize(stack, cell, interpolation=cv2.INTER_AREA).reshape(cell[1], cell[0], len(names))
            for index, sheet in enumerate(sheets):
                own = small[:, :, index:index + 1]
                sheet.add_cells(frame, (shown, own[:, :, 0], shown * own + np.float32(0.5) * (1 - own)))

    if step == "write":
        for done, frame in enumerate(frames, start=1):
            write(frame, next(iter(source.read([frame]))), alphas.read(frame), _read_labels(labels, frame, stamp))
            if on_frame:
                on_frame(frame, done, len(frames))
        return PeopleResult(names, len(frames), time.perf_counter() - began, people_pattern, alpha_pattern,
                            fgr_pattern)

    targets.check(people, frames, width, height)
    anchors = targets.anchor_frames(people, frames)

    # Every anchor is checked before anything is written: an empty mask, a point on the background.
    anchor_maps: Dict[int, np.ndarray] = {}
    for frame in anchors:
        anchor = np.zeros((height, width), np.uint8)
        for label, mask in targets.read_masks(people, frame).items():
            anchor[mask] = label
        points = targets.points_on(people, frame)
        if points:
            from_points = tracking.point_anchor(alphas.read(frame), points, (height, width))
            anchor = np.where(from_points > 0, from_points, anchor)
        anchor_maps[frame] = anchor

    labeller = tracking.Labeller(len(people), others=picked)
    flow = tracking.Flow()
    start = anchors[0] if anchors else frames[0]
    order = [f for f in frames if f >= start] + [f for f in reversed(frames) if f < start]
    resumed = _labelled_already(labels, order, stamp) if step == "label" else 0
    done = 0
    previous = None                  # (labels, grey) of the frame before in this pass
    start_state = None
    for index, frame in enumerate(order):
        if frame == start - 1:
            previous = start_state                  # the backward pass starts from the first anchor frame
        plate = next(iter(source.read([frame])))
        grey = tracking.grey(plate.rgb, source.is_float)
        if index < resumed:                         # labelled by an earlier try of this task: its state only
            if frame == start or index == resumed - 1:
                previous = (_read_labels(labels, frame, stamp), grey)
                if frame == start:
                    start_state = previous
            continue
        matte = alphas.read(frame)
        carried = None if previous is None else flow.carry(previous[0], previous[1], grey)
        labelled = labeller.label(matte, tracking.colour8(plate.rgb, source.is_float), carried,
                                  anchor_maps.get(frame), first=previous is None)
        previous = (labelled, grey)
        if frame == start:
            start_state = previous
        if labels:
            write_frame(_path(labels, frame), labelled.astype(np.float32)[:, :, None], [LABEL_CHANNEL],
                        bit_depth="half", compression="zip", attributes=stamp)
        write(frame, plate, matte, labelled)
        done += 1
        if on_frame:
            on_frame(frame, done + resumed, len(frames))
    written = [path for path in (sheet.write() for sheet in sheets) if path]
    return PeopleResult(names, done, time.perf_counter() - began, people_pattern, alpha_pattern, fgr_pattern,
                        written)


def output_patterns(name: str, output_dir: str, picked: bool, foreground: bool, alpha_out: Optional[str] = None,
                    foreground_out: Optional[str] = None) -> tuple:
    """(people, alpha, foreground) patterns the pass writes for shot ``name``; alpha and foreground only
    with targets (``picked``), the foreground only from a ``foreground`` pass; None where not written."""
    people = os.path.join(output_dir, f"{name}.people.####.exr")
    alpha = (alpha_out or os.path.join(output_dir, f"{name}.alpha.####.exr")) if picked else None
    fgr = (foreground_out or os.path.join(output_dir, f"{name}.fgr.####.exr")) if picked and foreground else None
    return people, alpha, fgr


#: The channel of a label map: 0 background, 1..K the persons, K+1 everyone else (exact in a half).
LABEL_CHANNEL = "label"


def _labelled_already(labels: str, order: Sequence[int], stamp: Dict[str, str]) -> int:
    """How many frames of ``order``, from its start, already have a whole label map of these settings."""
    from rvmatte.io.stamp import KEY_ATTRIBUTE, stored_result
    from rvmatte.io.writing import frame_is_complete

    count = 0
    for frame in order:
        path = _path(labels, frame)
        if not frame_is_complete(path, [LABEL_CHANNEL]) or stored_result(path)[0] != stamp[KEY_ATTRIBUTE]:
            break
        count += 1
    return count


def _read_labels(labels: str, frame: int, stamp: Dict[str, str]) -> np.ndarray:
    from rvmatte.io.stamp import KEY_ATTRIBUTE, stored_result
    from rvmatte.io.writing import frame_is_complete

    path = _path(labels, frame)
    if not frame_is_complete(path, [LABEL_CHANNEL]):
        raise InputError(f"people: frame {frame} has no label map ({path}): run the labelling step first")
    if stored_result(path)[0] != stamp[KEY_ATTRIBUTE]:
        raise InputError(f"people: the label map of frame {frame} ({path}) was made with other settings or "
                         f"another matte: run the labelling step again")
    buf = oiio.ImageBuf(path)
    return np.rint(buf.get_pixels(oiio.FLOAT)[:, :, 0]).astype(np.uint8)


def people_stamp(alpha_frame: str, people: Sequence[targets.Person], bit_depth: str,
                 compression: str) -> Dict[str, str]:
    """The result key attributes of what the pass writes: the split matte's key fields (as stored
    with its frame), at the depth and compression written here, plus who is who (result_key.people_key)."""
    from rvmatte.io.stamp import stored_result

    return stamp_of(stored_result(alpha_frame)[1], people, bit_depth, compression)


def stamp_of(fields: Optional[dict], people: Sequence[targets.Person], bit_depth: str,
             compression: str) -> Dict[str, str]:
    """``people_stamp`` from the split matte's key ``fields`` (None: a matte without a recorded key):
    what ``rvmatte run --target … --versions`` chooses its version by, before the matte is written."""
    import json

    from rvmatte.io.stamp import FIELDS_ATTRIBUTE, KEY_ATTRIBUTE
    from rvmatte.result_key import people_key

    if fields:
        fields = {**fields, "bit_depth": bit_depth, "compression": (compression or "zip").lower()}
    key, fields = people_key(fields, people)
    return {KEY_ATTRIBUTE: key, FIELDS_ATTRIBUTE: json.dumps(fields, sort_keys=True)}


def _path(pattern: str, frame: int) -> str:
    from rvmatte.io import output_pattern

    return output_pattern(pattern).path(frame)


def _write(frame, header, matte, labels, names, people_pattern, alpha_pattern, fgr_pattern, fgr,
           bit_depth, compression, stamp):
    mattes = [np.where(labels == i, matte, np.float32(0)).astype(np.float32) for i in range(1, len(names) + 1)]
    cryptomatte.write_people_frame(_path(people_pattern, frame), mattes, names, header=header, attributes=stamp)
    if alpha_pattern is None:
        return
    keep = (labels >= 1) & (labels <= len(names))
    write_frame(_path(alpha_pattern, frame), np.where(keep, matte, np.float32(0))[:, :, None], ["A"],
                header=header, bit_depth=bit_depth, compression=compression, attributes=stamp)
    if fgr_pattern is not None:
        pixels, channels, colorspace = _read_rgba(fgr.frame_path(frame), frame)
        write_frame(_path(fgr_pattern, frame), pixels * keep[:, :, None], channels, header=header,
                    bit_depth=bit_depth, compression=compression, colorspace=colorspace, attributes=stamp)
