"""``rvmatte people SHOT --alpha PATTERN (--target [NAME=]MASK … | --target-point [NAME=]X,Y@F … | --people N) -o DIR``."""
from __future__ import annotations

import argparse
import json
import sys


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
                      start_frame=args.start_frame)
    summary = {"people": result.names, "frames": result.frames,
               "seconds_per_frame": round(result.seconds / max(result.frames, 1), 4),
               "people_exr": result.people_pattern, "alpha": result.alpha_pattern,
               "foreground": result.foreground_pattern}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"rvmatte people: {', '.join(result.names)} over {result.frames} frames -> {result.people_pattern}",
              file=sys.stderr)
    return 0
