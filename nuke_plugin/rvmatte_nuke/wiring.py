"""Results back onto the node, in the main thread: the internal Reads pointed
at the worker's EXRs and reloaded, the status line, the stored state."""
import json
import os
import re
import time

import nuke

from . import jobs, node as rvnode, people, sequences, staleness, versions

STALE_COLOR = 0xC04040FF
SIDECAR = "%s.rvmatte.json"


def wire(group, alpha_pattern, fgr_pattern, first, last):
    for name, pattern in (("alpha_read", alpha_pattern), ("fgr_read", fgr_pattern)):
        read = rvnode.internal(group, name)
        read["file"].setValue(sequences.knob_path(pattern))
        for key, value in (("first", first), ("last", last), ("origfirst", first), ("origlast", last)):
            read[key].setValue(value)
        read["origset"].setValue(True)
        read["reload"].execute()
    rvnode.show_matte(group)


LABEL_KNOB = "rvm_label"


def html_text(text):
    """Text for a Text_Knob, which Nuke shows as rich text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label_text(text):
    """Text for the node's label, which Nuke evaluates as TCL and shows as rich text:
    a path or message holding `[`, `$` or `<` must show as it is, never run."""
    return re.sub(r"([\\\[\]$])", r"\\\1", html_text(text))


def set_status(group, text):
    """The status line, and the label while it is ours: a label the artist typed is never
    replaced (the label we set last is remembered in a hidden knob)."""
    group["status"].setValue(html_text(text))
    short = text.split("\n")[0]
    short = short if len(short) < 60 else short[:57] + "..."
    ours = group.knob(LABEL_KNOB)
    if ours is None:
        ours = nuke.String_Knob(LABEL_KNOB, "label set by RVMatte")
        group.addKnob(ours)
        ours.setVisible(False)
    current = group["label"].value()
    if current == "" or current == ours.value():
        group["label"].setValue(label_text(short))
        ours.setValue(group["label"].value())


def set_tile_color(group, colour):
    """The stale colour on and off, never over a colour the artist chose."""
    if group["tile_color"].value() in (0, STALE_COLOR):
        group["tile_color"].setValue(colour)


def finish(job, outcomes):
    """The end of a Generate (called in the main thread). A job of a script that was closed
    since wires nothing: a node of the same name in another script is not its node."""
    if getattr(job, "script", None) not in (None, nuke.root().name()):
        return
    with nuke.root():
        group = nuke.toNode(job.node_name)
    if not rvnode.is_rvmatte(group):
        return
    last = outcomes[-1] if outcomes else None
    folder, error = None, None
    if last is not None and last.status == "done" and getattr(job, "versions", False):
        folder, error = _version_shown(job, outcomes)
    if last is None or last.status == "failed" or error:
        error = error or (last.error if last is not None else "the worker did not run")
        set_status(group, "failed: %s%s" % (error, _resume_note(versions.remember(group, job, outcomes))))
        log = getattr(last, "log_path", None)
        nuke.message("RVMatte %s: %s%s" % (group.name(), error, ("\n\nworker log: %s" % log) if log else ""))
        return
    if last.status == "cancelled":
        done = sum(o.frames_done for o in outcomes)
        set_status(group, "cancelled after %d frame(s); the matte was not changed%s" % (
            done, _resume_note(versions.remember(group, job, outcomes))))
        return
    alpha, fgr, people_pattern = job.alpha_read, job.fgr_read, getattr(job, "people_pattern", None)
    if folder is not None:
        alpha, fgr = versions.inside(job, folder["folder"], alpha), versions.inside(job, folder["folder"], fgr)
        if people_pattern:
            people_pattern = versions.inside(job, folder["folder"], people_pattern)
        versions.forget(group)
    wire(group, alpha, fgr, job.first, job.last)
    people.wire_cryptomatte(group, job, pattern=people_pattern)
    seconds = sum(o.done.seconds for o in outcomes if o.done is not None)
    result = {"first": job.first, "last": job.last, "views": [v.view for v in job.views],
              "alpha": alpha, "foreground": fgr, "seconds": seconds,
              "precomp": bool(job.needs_precomp()), "finished": time.strftime("%Y-%m-%d %H:%M"),
              "context": getattr(job, "context", None), "version": folder["name"] if folder else None}
    group["rvm_state"].setValue(job.state)
    group["rvm_result"].setValue(json.dumps(result, sort_keys=True))
    _write_sidecar(job, result)
    set_status(group, "matte %d-%d, %d view(s), %.1f s, %s%s" % (
        job.first, job.last, len(job.views), seconds, result["finished"], _version_note(job, folder)))
    set_tile_color(group, 0)
    show_warnings(group, "the matte", [w for o in outcomes for w in getattr(o, "warnings", [])])


def _version_shown(job, outcomes):
    """(output_version, None) of a versioned job that succeeded, or (None, error) when the worker named
    no version folder or its views went into different ones (one Read, %V, cannot show both)."""
    found = [versions.written_version(o) for o in outcomes]
    if any(f is None for f in found):
        return None, "the worker did not say which version folder it wrote (an rvmatte without --versions?)"
    names = sorted(set(f["name"] for f in found))
    if len(names) > 1:
        return None, "the views went into different versions (%s): their result keys differ" % ", ".join(names)
    return found[-1], None


def _resume_note(name):
    return "; Resume continues %s" % name if name else ""


def _version_note(job, folder):
    if folder is None:
        return ""
    asked = getattr(job, "resume", None)
    if asked and asked != folder["name"]:
        return ", %s (not %s: its settings differ)" % (folder["name"], asked)
    return ", %s" % folder["name"]


def show_warnings(group, what, warnings):
    """The worker's warnings of a job that succeeded (e.g. tuned weights used on another shot), each
    once, in one message; the status line says how many. Returns the warnings shown."""
    shown = []
    for warning in warnings:
        if warning not in shown:
            shown.append(warning)
    if shown:
        group["status"].setValue(group["status"].value() + html_text(" (%d warning%s)" % (
            len(shown), "s" if len(shown) > 1 else "")))
        nuke.message("RVMatte %s: %s is done, with %s:\n\n%s" % (
            group.name(), what, "a warning" if len(shown) == 1 else "warnings", "\n\n".join(shown)))
    return shown


def _write_sidecar(job, result):
    data = dict(result, state=job.state)
    path = os.path.join(job.output_dir, SIDECAR % job.node_name.split(".")[-1])
    try:
        with open(path, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
    except (IOError, OSError):
        pass


def refresh_stale(group):
    """Lights the stale flag (status line and node colour) when the upstream or
    the settings changed since the matte was made. Returns the flag."""
    stale = staleness.is_stale(group)
    status = group["status"].value()
    marked = status.startswith("STALE: ")
    if stale and not marked:
        group["status"].setValue("STALE: " + status)
        set_tile_color(group, STALE_COLOR)
    elif not stale and marked:
        group["status"].setValue(status[len("STALE: "):])
        set_tile_color(group, 0)
    return stale


def load_results(group):
    """Points the node at complete EXRs found in its output directory (a farm
    render, or a run from another session): the patterns its sidecar names,
    else the node's own naming. Returns the new status line."""
    first, last = jobs.frame_range(group)
    folder = jobs.output_dir(group)
    name = group.name()
    tag = ".%V" if len(nuke.views()) > 1 else ""
    sidecar = _read_sidecar(os.path.join(folder, SIDECAR % name))
    alpha = sidecar.get("alpha") or os.path.join(folder, "%s%s.alpha.####.exr" % (name, tag))
    fgr = sidecar.get("foreground") or os.path.join(folder, "%s%s.fgr.####.exr" % (name, tag))
    if "first" in sidecar and "last" in sidecar:
        first, last = int(sidecar["first"]), int(sidecar["last"])
    shown_version = None
    if sidecar.get("farm_bundle") and sidecar.get("versions"):
        shown_version = _farm_version(folder)
        alpha, fgr = (versions.kit.relocated(folder, shown_version.folder, p) for p in (alpha, fgr))
    for view in jobs.chosen_views(group):
        for pattern in (alpha, fgr):
            wanted = sequences.for_view(pattern, view)
            found = sequences.complete_frames(wanted, first, last)
            if len(found) != last - first + 1:
                missing = sorted(set(range(first, last + 1)) - set(found))
                raise jobs.JobError("%d frame(s) missing, first %s" % (
                    len(missing), sequences.frame_file(wanted, missing[0])))
    wire(group, alpha, fgr, first, last)
    people.wire_loaded(group, first, last)
    group["rvm_state"].setValue(sidecar.get("state") or staleness.state_hash(group))
    # the result record describes what is shown now: a Generate's sidecar its version and context, a
    # farm job's none (then the state hash alone judges the stale flag)
    record = dict((k, sidecar.get(k)) for k in ("context", "version", "seconds", "finished", "precomp"))
    if shown_version is not None:
        record["version"] = shown_version.name
    record.update(first=first, last=last, alpha=alpha, foreground=fgr, views=jobs.chosen_views(group))
    group["rvm_result"].setValue(json.dumps(record, sort_keys=True))
    set_status(group, "matte %d-%d loaded from %s" % (
        first, last, shown_version.folder if shown_version is not None else folder))
    return group["status"].value()


def _farm_version(folder):
    """The version a versioned farm job made complete (its finish task marks it): the kit's current
    version of the output directory; JobError naming the state when none is complete yet."""
    from .rvmatte_hostkit import versions as kit

    errors = []
    found = kit.list_versions(folder, errors=errors)
    shown = kit.current(found)
    if shown is not None:
        return shown
    if errors:
        raise jobs.JobError(errors[0])
    if found:
        latest = found[-1]
        raise jobs.JobError("the farm job's version %s is %s, not complete yet%s" % (
            latest.name, latest.state, (": " + latest.message) if latest.message else ""))
    raise jobs.JobError("no version folder in %s yet: the farm job has not started its first task" % folder)


def _read_sidecar(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_results_button(group):
    try:
        load_results(group)
    except jobs.JobError as exc:
        nuke.message("RVMatte %s: %s" % (group.name(), exc))


LOG_LINES_SHOWN = 40


def show_worker_log(group=None):
    """RVMatte > Show worker log: the newest worker log of the selected RVMatte node's output folder,
    its path and last lines in a message (the whole file is at that path). Returns the path or None."""
    from .rvmatte_hostkit.process import latest_log

    if group is None:
        chosen = [n for n in nuke.selectedNodes() if rvnode.is_rvmatte(n)]
        if not chosen:
            nuke.message("RVMatte: select an RVMatte node to see its worker log")
            return None
        group = chosen[-1]
    try:
        folder = jobs.output_dir(group)
    except jobs.JobError as exc:
        nuke.message("RVMatte %s: %s" % (group.name(), exc))
        return None
    path = latest_log(folder)
    if path is None:
        nuke.message("RVMatte %s: no worker log yet (Generate writes one into %s)"
                     % (group.name(), os.path.join(folder, ".rvmatte", "logs")))
        return None
    with open(path, encoding="utf-8", errors="replace") as stream:
        lines = stream.read().splitlines()
    shown = lines[-LOG_LINES_SHOWN:]
    nuke.message("RVMatte %s worker log %s%s\n\n%s" % (
        group.name(), path, " (last %d lines)" % len(shown) if len(lines) > len(shown) else "", "\n".join(shown)))
    return path
