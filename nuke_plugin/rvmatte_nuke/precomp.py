"""The precomp: the node's input rendered to scene-linear EXRs (the script's
working space, `raw`), at full resolution even when the script is in proxy mode.
It blocks like any Nuke render, with Nuke's own progress bar."""
import os

import nuke


class PrecompError(Exception):
    pass


def render(group, job):
    """Renders the views of `job` that need a precomp. Main thread only."""
    views = [v.view for v in job.needs_precomp()]
    if not views:
        return
    folder = os.path.dirname(job.precomp_pattern)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    root = nuke.root()
    was_proxy = root["proxy"].value()
    group.begin()
    write = None
    try:
        write = nuke.nodes.Write(name="rvmatte_precomp")
        write["file_type"].setValue("exr")
        write["file"].setValue(job.precomp_pattern)
        write["datatype"].setValue("16 bit half")
        write["compression"].setValue("Zip (1 scanline)")
        write["channels"].setValue("rgb")
        write["raw"].setValue(True)
        write["create_directories"].setValue(True)
        write.setInput(0, group.node("Input1"))
        root["proxy"].setValue(False)
        chosen = [v for v in views if v is not None] or None
        if chosen:
            write["views"].setValue(" ".join(chosen))
        try:
            nuke.execute(write, job.first, job.last, 1, views=chosen)
        except RuntimeError as exc:
            if "cancel" in str(exc).lower():
                raise PrecompError("precomp cancelled")
            raise PrecompError("precomp of %s failed: %s" % (group.name(), exc))
    finally:
        root["proxy"].setValue(was_proxy)
        if write is not None:
            nuke.delete(write)
        group.end()
