"""``rvmatte people SHOT --alpha PATTERN (--target [NAME=]MASK … | --target-point [NAME=]X,Y@F … | --people N) -o DIR``."""
from __future__ import annotations

import argparse
import json
import sys


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

    Without ``--people-step`` all of it over the whole shot, in a temporary folder. On a farm the
    same in three kinds of task sharing ``DIR/.rvmatte-people``: ``matte`` (one per chunk, with
    ``--frames``, ``--preroll``, ``--resume`` as any chunk), ``label`` (one task over the whole
    ``--frames`` range, after every matte chunk: identities are carried through the shot), ``write``
    (one per chunk, after the labelling). The three give what the whole-shot run gives."""
    import dataclasses
    import os
    import tempfile

    from rvmatte.cli import UsageError
    from rvmatte.engine import run
    from rvmatte.io import open_input
    from rvmatte.people import targets
    from rvmatte.people.separate import separate

    step = getattr(args, "people_step", None)
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
    with tempfile.TemporaryDirectory(prefix="rvmatte-people-") as temporary:
        work = temporary if step is None else os.path.join(out_dir, WORK_FOLDER)
        scratch_alpha = os.path.join(work, f"{source.name}.alpha.####.exr")
        scratch_fgr = os.path.join(work, f"{source.name}.fgr.####.exr") if options.foreground else None
        if step in (None, "matte"):
            run(dataclasses.replace(options, alpha=scratch_alpha, foreground=scratch_fgr, bit_depth="float",
                                    compression="zip"), reporter)
            if step == "matte":
                return 0
        picked = any(p.masks or p.points for p in people)
        result = separate(args.input, scratch_alpha, people, out_dir, foreground=scratch_fgr,
                          bit_depth=options.bit_depth, compression=options.compression, layer=args.layer,
                          start_frame=args.start_frame, alpha_out=options.alpha if picked else None,
                          foreground_out=options.foreground if picked else None, frames=frames,
                          labels=None if step is None else os.path.join(work, f"{source.name}.labels.####.exr"),
                          step=step)
        if not picked and step != "label":   # --people N: the run's own passes are everyone's, as without it
            from rvmatte.io import output_pattern
            for frame in frames:
                for made, wanted in ((scratch_alpha, options.alpha), (scratch_fgr, options.foreground)):
                    if made and wanted:
                        _rewrite(output_pattern(made).path(frame), output_pattern(wanted).path(frame),
                                 options.bit_depth, options.compression)
    if step == "label":
        print(f"rvmatte: people: labelled {len(frames)} frames ({result.frames} now)", file=sys.stderr)
    else:
        print(f"rvmatte: people: {', '.join(result.names)} -> {result.people_pattern}", file=sys.stderr)
    return 0


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
