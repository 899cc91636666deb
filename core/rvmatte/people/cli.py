"""``rvmatte people SHOT --alpha PATTERN (--target [NAME=]MASK … | --target-point [NAME=]X,Y@F … | --people N) -o DIR``."""
from __future__ import annotations

import argparse
import json
import sys

from rvmatte.progress import Reporter


#: The farm tasks of ``rvmatte run --target/--people``, in the order they must run.
PEOPLE_STEPS = ("matte", "label", "write")
#: Where the farm tasks keep the unsplit passes and the label maps, inside the output folder.
WORK_FOLDER = ".rvmatte-people"


def add_run_options(run: argparse.ArgumentParser) -> None:
    """``rvmatte run --target/--target-point/--people``: matte, then split (the people pass)."""
    from rvmatte.cli import _positive

    group = run.add_argument_group("people (see docs/people.md)")
    group.add_argument("--target", action="append", default=[], metavar="[NAME=]MASK",
                       help="keep only this person (a mask on one or more frames, the rest tracked); repeatable")
    group.add_argument("--target-point", action="append", default=[], metavar="[NAME=]X,Y@FRAME",
                       help="keep only the person under this plate pixel; repeatable")
    group.add_argument("--people", type=_positive, metavar="N",
                       help="also write <shot>.people.####.exr: one matte per person + Cryptomatte")
    group.add_argument("--people-step", choices=PEOPLE_STEPS,
                       help="farm tasks (rvmatte farm writes them): matte the --frames chunk into "
                            "DIR/.rvmatte-people, label the whole --frames range in one task, or write "
                            "the --frames chunk's outputs from the labels")


def wants_people(args) -> bool:
    return bool(getattr(args, "target", None) or getattr(args, "target_point", None) or getattr(args, "people", None))


def run_with_people(args, options, reporter) -> int:
    """Matte the shot into a scratch folder (float), then split it into the run's outputs.

    Without ``--people-step`` all of it over the whole shot, in a temporary folder; the matte's
    progress events go out as they come, its ``done`` only after the split (``_SplitAfter``), and with
    ``--versions`` the outputs go into the version folder of the people key (``_Versioned``). On a farm
    the same in three kinds of task sharing ``DIR/.rvmatte-people``: ``matte`` (one per chunk, with
    ``--frames``, ``--preroll``, ``--resume`` as any chunk), ``label`` (one task over the whole
    ``--frames`` range, after every matte chunk: identities are carried through the shot), ``write``
    (one per chunk, after the labelling). The three give what the whole-shot run gives."""
    import dataclasses
    import os
    import tempfile

    from rvmatte.cli import UsageError
    from rvmatte.engine import Job, run
    from rvmatte.io import open_input
    from rvmatte.people import targets
    from rvmatte.people.separate import output_patterns, separate

    step = getattr(args, "people_step", None)
    if options.version_step:
        raise UsageError("--version-step is not available with --target/--target-point/--people: run the "
                         "whole shot with --versions in one task")
    if options.versions and step is not None:
        raise UsageError(f"--versions does not work with --people-step {step} yet: a farm job of the people "
                         f"pass writes into -o OUT itself (give --people-step without --versions)")
    refused = [("--composite", options.composite), ("--contact-sheet", options.contact_sheet),
               ("--segmentation", options.segmentation)]
    if step is None:        # --frames: the frames matted and split (a host's range); targets must lie within
        refused += [("--resume", options.resume)]
    elif step != "matte" and not options.frames:
        raise UsageError(f"--people-step {step} needs --frames")
    for flag, given in refused:
        if given:
            raise UsageError(f"{flag} is not available with --target/--target-point/--people yet: "
                             f"run without it, then 'rvmatte people' (docs/people.md)")
    for name, pattern in (("--alpha", options.alpha), ("--foreground", options.foreground)):
        if pattern and not pattern.lower().endswith(".exr"):
            raise UsageError(f"{name} {pattern}: with targets the passes are EXR sequences")
    people = targets.people_from(args.target, args.target_point, args.people)
    source = open_input(args.input, layer=args.layer, start_frame=args.start_frame)
    frames = source.frame_range(*options.frames) if options.frames else source.frame_range()
    if step in (None, "label"):
        targets.check(people, frames, source.width, source.height)
    elif step == "matte":      # a mask of another size or beyond the plate fails the first chunk, not after them
        targets.check(people, source.frame_range(), source.width, source.height)
    out_dir = args.output_dir or os.path.dirname(options.alpha or options.foreground or "") or "."
    picked = any(p.masks or p.points for p in people)
    versioned = _Versioned(options, people) if options.versions else None
    with tempfile.TemporaryDirectory(prefix="rvmatte-people-") as temporary:
        work = temporary if step is None else os.path.join(out_dir, WORK_FOLDER)
        scratch_alpha = os.path.join(work, f"{source.name}.alpha.####.exr")
        scratch_fgr = os.path.join(work, f"{source.name}.fgr.####.exr") if options.foreground else None
        matte = dataclasses.replace(options, alpha=scratch_alpha, foreground=scratch_fgr, bit_depth="float",
                                    compression="zip", versions=None, keep_versions=None)
        if step == "matte":
            run(matte, reporter)
            return 0
        def final():
            """(folder, alpha, foreground) the split writes into: -o OUT's, or the version folder's."""
            if versioned is None:
                return out_dir, options.alpha, options.foreground
            return versioned.version.folder, versioned.inside(options.alpha), versioned.inside(options.foreground)

        def outputs() -> dict:
            """What the start and done events name: the split's outputs, not the scratch matte."""
            folder, alpha, fgr = final()
            people_out, alpha_made, fgr_made = output_patterns(source.name, folder, picked, bool(scratch_fgr),
                                                               alpha, fgr)
            made = {"alpha": alpha_made if picked else alpha, "foreground": fgr_made if picked else fgr,
                    "people": people_out}
            return {kind: pattern for kind, pattern in made.items() if pattern}

        written: list = []
        split = _SplitAfter(reporter, versioned, outputs)
        try:
            if step is None:
                job = Job(matte, split)
                if versioned is not None:
                    job.on_result_key = versioned.enter
                job.run()
            folder, alpha_out, fgr_out = final()
            result = separate(args.input, scratch_alpha, people, folder, foreground=scratch_fgr,
                              bit_depth=options.bit_depth, compression=options.compression, layer=args.layer,
                              start_frame=args.start_frame, alpha_out=alpha_out if picked else None,
                              foreground_out=fgr_out if picked else None, frames=frames,
                              labels=None if step is None else os.path.join(work, f"{source.name}.labels.####.exr"),
                              step=step, on_frame=(lambda frame, *_: written.append(frame)) if picked else None)
            if versioned is not None:
                versioned.check(scratch_alpha, frames[0])
            if not picked and step != "label":   # --people N: the run's own passes are everyone's, as without it
                from rvmatte.io import output_pattern
                for frame in frames:
                    for made, wanted in ((scratch_alpha, alpha_out), (scratch_fgr, fgr_out)):
                        if made and wanted:
                            _rewrite(output_pattern(made).path(frame), output_pattern(wanted).path(frame),
                                     options.bit_depth, options.compression)
                    written.append(frame)
            if step is None:
                split.finish(versioned.complete(frames) if versioned is not None else None)
        except BaseException as error:
            if versioned is not None:
                versioned.stopped(error, written)
            raise
    if step == "label":
        print(f"rvmatte: people: labelled {len(frames)} frames ({result.frames} now)", file=sys.stderr)
    else:
        print(f"rvmatte: people: {', '.join(result.names)} -> {result.people_pattern}", file=sys.stderr)
    return 0


class _Versioned:
    """``--versions`` with the people pass: the version is chosen by the people key (the matte's key
    fields at the run's depth and compression, plus who is who: what separate() stamps into every
    file), once the matte's key is known and before its first frame; the people outputs go into it."""

    def __init__(self, options, people):
        from rvmatte.versions import check_paths_inside

        self.root, self.keep, self.people = options.versions, options.keep_versions, people
        self.bit_depth, self.compression = options.bit_depth, options.compression
        check_paths_inside(self.root, [(flag, path) for flag, path in (("--alpha", options.alpha),
                                                                       ("--foreground", options.foreground)) if path])
        self.version = None
        self.key = None
        self.was_complete = False

    def enter(self, matte_key: str, matte_fields: dict) -> None:
        """The matte's result key is known: make or reuse the version of the people key, marked running
        unless it is complete. A complete one is split again (the people pass keeps no frames) into the
        same results, each file replaced whole, so it stays complete (and shown by the hosts) whatever
        becomes of this run: a cancel or failure does not mark it (``stopped``)."""
        from rvmatte.io.stamp import FIELDS_ATTRIBUTE, KEY_ATTRIBUTE
        from rvmatte.people.separate import stamp_of
        from rvmatte.versions import choose

        stamp = stamp_of(matte_fields, self.people, self.bit_depth, self.compression)
        self.key = stamp[KEY_ATTRIBUTE]
        self.version = choose(self.root, self.key, json.loads(stamp[FIELDS_ATTRIBUTE]))
        self.was_complete = self.version.reused == "complete"
        if self.version.reused is not None and not self.was_complete:   # the split writes every frame again
            self.version.mark("running")

    def stopped(self, error: BaseException, frames) -> None:
        """The run stopped early: an unfinished version is marked cancelled or failed; a complete one,
        being split again into the same results, is left complete."""
        if self.version is not None and not self.was_complete:
            self.version.stopped(error, frames)

    def inside(self, path):
        from rvmatte.versions import relocated

        return relocated(self.root, self.version.folder, path) if path else None

    def check(self, scratch_alpha: str, frame: int) -> None:
        """What separate() stamped is the key the version was chosen by (else the folder holds a lie)."""
        from rvmatte.errors import RvmatteError
        from rvmatte.io import output_pattern
        from rvmatte.io.stamp import KEY_ATTRIBUTE
        from rvmatte.people.separate import people_stamp

        stamped = people_stamp(output_pattern(scratch_alpha).path(frame), self.people, self.bit_depth,
                               self.compression)[KEY_ATTRIBUTE]
        if stamped != self.key:
            raise RvmatteError(f"--versions: internal error: the people pass stamped {stamped}, but "
                               f"{self.version.folder} was chosen for {self.key}")

    def complete(self, frames) -> dict:
        """The split succeeded: the version is complete; --keep-versions prunes (only now)."""
        from rvmatte.versions import prune

        self.version.mark("complete", frames)
        removed = prune(self.root, self.keep, self.version) if self.keep else []
        return {**self.version.describe(), "removed": removed}


class _SplitAfter(Reporter):
    """The matte's events as they come, but its ``done`` held back: the run's one ``done`` is sent
    after the split, naming the split's outputs (and with --versions its version, as the start does)."""

    def __init__(self, reporter: Reporter, versioned: "_Versioned", outputs):
        self.reporter, self.versioned, self.outputs, self.summary = reporter, versioned, outputs, None

    def start(self, info: dict) -> None:
        version = self.versioned.version if self.versioned is not None else None
        self.reporter.start({**info, "outputs": self.outputs(),
                             "output_version": version.describe() if version is not None else None})

    def frame(self, frame, done, total, fps, skipped=False, **extra) -> None:
        self.reporter.frame(frame, done, total, fps, skipped=skipped, **extra)

    def warning(self, message, frame=None) -> None:
        self.reporter.warning(message, frame)

    def cut(self, info) -> None:
        self.reporter.cut(info)

    def done(self, summary: dict) -> None:
        self.summary = summary

    def error(self, message) -> None:
        self.reporter.error(message)

    def close(self) -> None:
        self.reporter.close()

    def finish(self, output_version) -> None:
        summary = {**(self.summary or {}), "outputs": self.outputs()}
        if output_version is not None:
            summary["output_version"] = output_version
        self.reporter.done(summary)


def _rewrite(source: str, target: str, bit_depth: str, compression: str) -> None:
    """A scratch float pass written out at the run's depth and compression, header kept."""
    import numpy as np
    import OpenImageIO as oiio

    from rvmatte.io.header import header_from_spec
    from rvmatte.io.writing import write_frame

    inp = oiio.ImageInput.open(source)
    spec = inp.spec()
    pixels = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT), np.float32)
    inp.close()
    header = header_from_spec(spec)
    write_frame(target, pixels.reshape(spec.height, spec.width, -1), list(spec.channelnames), header=header,
                bit_depth=bit_depth, compression=compression,
                colorspace=spec.get_string_attribute("oiio:ColorSpace") or None,
                attributes={k: v for k, v in header["attributes"].items()})


def add_parser(subparsers) -> None:
    from rvmatte.cli import _positive

    p = subparsers.add_parser(
        "people", help="split finished alpha passes into one matte per person (+ Cryptomatte)",
        description="Pick people by mask or point, or split the N largest, over alpha passes already rendered "
                    "(see docs/people.md).")
    p.add_argument("input", metavar="SHOT", help="the plate the alpha was made from (for the optical flow)")
    p.add_argument("--alpha", required=True, metavar="PATTERN", help="the finished alpha pass of SHOT")
    p.add_argument("--foreground", metavar="PATTERN", help="its premultiplied foreground pass (with targets: "
                                                          "written for the picked persons only)")
    p.add_argument("--target", action="append", default=[], metavar="[NAME=]MASK",
                   help="matte sequence holding one person on one or more frames (repeat for more persons)")
    p.add_argument("--target-point", action="append", default=[], metavar="[NAME=]X,Y@FRAME",
                   help="the person under this plate pixel on FRAME (repeat for more persons or frames)")
    p.add_argument("--people", type=_positive, metavar="N", help="split the N largest regions of the first frame")
    p.add_argument("-o", "--output-dir", required=True, help="writes <shot>.people.####.exr (and with targets "
                                                              "<shot>.alpha/.fgr.####.exr) here")
    p.add_argument("--layer", help="multi-layer EXR plate: the layer to read")
    p.add_argument("--start-frame", type=int, help="movies: number of the first frame (default 1)")
    depth = p.add_mutually_exclusive_group()
    depth.add_argument("--half", dest="bit_depth", action="store_const", const="half",
                       help="half-float targeted alpha/foreground (default; the people EXR is always float)")
    depth.add_argument("--float", dest="bit_depth", action="store_const", const="float")
    p.add_argument("--compression", default="zip", help="EXR compression of the targeted alpha/foreground "
                                                        "(the people EXR is always zip)")
    p.add_argument("--contact-sheets", action="store_true",
                   help="also write <shot>.people.<name>.contact.png per person: plate | matte | plate × matte "
                        "over grey on frames spread over the shot (to look at a split without ground truth)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=cmd_people, bit_depth="half")


def cmd_people(args) -> int:
    from rvmatte.cli import UsageError
    from rvmatte.people import targets
    from rvmatte.people.separate import separate

    if not (args.target or args.target_point or args.people):
        raise UsageError("give --target MASK, --target-point X,Y@FRAME or --people N")
    people = targets.people_from(args.target, args.target_point, args.people)
    result = separate(args.input, args.alpha, people, args.output_dir, foreground=args.foreground,
                      bit_depth=args.bit_depth, compression=args.compression, layer=args.layer,
                      start_frame=args.start_frame, contact_sheets=args.contact_sheets)
    summary = {"people": result.names, "frames": result.frames,
               "seconds_per_frame": round(result.seconds / max(result.frames, 1), 4),
               "people_exr": result.people_pattern, "alpha": result.alpha_pattern,
               "foreground": result.foreground_pattern, "contact_sheets": result.contact_sheets}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"rvmatte people: {', '.join(result.names)} over {result.frames} frames -> {result.people_pattern}",
              file=sys.stderr)
    return 0
