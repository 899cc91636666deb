"""The precomp: the node's input rendered to scene-linear EXRs (the script's
working space, `raw`), at full resolution even when the script is in proxy mode.
It blocks like any Nuke render, with Nuke's own progress bar.

This file is also the farm's precomp step, standalone (it imports nothing from
the plugin): `nuke -t precomp.py SCRIPT.nk NODE FIRST LAST PATTERN [VIEW...]`."""
import os
import re
import sys

import nuke


def _knob_path(path):
    """sequences.knob_path, repeated here because this file runs standalone on the farm."""
    return re.sub(r"([\[\]$])", r"\\\1", path.replace("\\", "/"))


class PrecompError(Exception):
    pass


def render(group, job, plate_views=None):
    """Renders the views of `job` that need a precomp (or only `plate_views` of them), then the
    holdout and garbage inputs that need one (their alpha only). Main thread only."""
    views = [v.view for v in job.needs_precomp()] if plate_views is None else list(plate_views)
    if views:
        render_input(group, job.precomp_pattern, job.first, job.last, [v for v in views if v is not None])
    all_views = [v.view for v in job.views if v.view is not None]
    for mask in job.mask_precomps():
        runs = _runs(mask.frames) if getattr(mask, "frames", None) else [(job.first, job.last)]
        for first, last in runs:
            render_input(group, mask.pattern, first, last, all_views, input_name=mask.name, channels="alpha")


def _runs(frames):
    """Sorted frames as (first, last) runs of consecutive frames."""
    runs = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


def render_input(group, pattern, first, last, views, input_name="Input1", channels="rgb"):
    """The group's input `input_name` (its Input node) to `pattern` (%V for
    views) for first..last; views empty: the script's only view."""
    folder = os.path.dirname(pattern)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    root = nuke.root()
    was_proxy = root["proxy"].value()
    group.begin()
    made = []                               # the nodes added here, removed again at the end
    try:
        write = nuke.nodes.Write(name="rvmatte_precomp")
        made.append(write)
        write["file_type"].setValue("exr")
        write["file"].setValue(_knob_path(pattern))
        write["datatype"].setValue("16 bit half")
        write["compression"].setValue("Zip (1 scanline)")
        write["channels"].setValue(channels)
        write["raw"].setValue(True)
        write["create_directories"].setValue(True)
        source = group.node(input_name)
        if input_name != "Input1" and group.input(0) is not None:
            source = _to_plate_format(group, source)
            made.append(source)
        write.setInput(0, source)
        root["proxy"].setValue(False)
        chosen = list(views) or None
        if chosen:
            write["views"].setValue(" ".join(chosen))
        try:
            nuke.execute(write, first, last, 1, views=chosen)
        except RuntimeError as exc:
            if "cancel" in str(exc).lower():
                raise PrecompError("precomp cancelled")
            what = group.name() if input_name == "Input1" else "%s's %s input" % (group.name(), input_name)
            raise PrecompError("precomp of %s failed: %s" % (what, exc))
    finally:
        root["proxy"].setValue(was_proxy)
        for node in made:
            nuke.delete(node)
        group.end()


def _to_plate_format(group, source):
    """A matte input conformed to the plate's format (a Reformat, Nuke's defaults: fit the width,
    centred), so a roto or a mask Read made at another resolution reaches the worker at the plate's
    size instead of being refused there. A matte already in the plate's format passes unchanged."""
    reformat = nuke.nodes.Reformat(name="rvmatte_precomp_reformat")
    reformat["type"].setValue("to format")
    reformat["format"].setValue(group.input(0).format())
    reformat.setInput(0, source)
    return reformat


def main(argv):
    """The farm's precomp step, run by `nuke -t`."""
    if len(argv) < 5:
        print("usage: nuke -t precomp.py SCRIPT.nk NODE FIRST LAST PATTERN [VIEW...]")
        return 2
    script, node_name, first, last, pattern = argv[:5]
    nuke.scriptOpen(script)
    group = nuke.toNode(node_name)
    if group is None:
        print("precomp: no node %s in %s" % (node_name, script))
        return 1
    try:
        render_input(group, pattern, int(first), int(last), argv[5:])
    except PrecompError as exc:
        print("precomp: %s" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
