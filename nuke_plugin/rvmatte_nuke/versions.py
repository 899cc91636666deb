"""Version folders of the node's output directory (docs/nuke.md, Versions): Generate runs the worker
with ``-o <output dir> --versions`` so each new result goes into ``<output dir>/v001``, ``v002``, …
(``rvmatte run --versions``, docs/io.md) and the internal Reads move to it only when the job
succeeds; a cancelled or failed run leaves the previous matte shown and its version is offered
as Resume. The folders are read with the host kit (``rvmatte_hostkit.versions``).

The people pass (a target, a point, People N) writes versions too, but the worker splits such a
shot again in full (it keeps no frames), so no Resume is offered for it. Farm jobs write into the
output directory itself. Reads of a script made before versions (passes directly in the folder)
stay as they are until a Generate succeeds.

The node remembers its last unfinished run in the hidden knob ``rvm_pending`` (the version, the
state hash and the frames it was started with), so Resume can tell whether the node still has the
settings that version was started with."""
import json

import nuke

from .rvmatte_hostkit import versions as kit

PENDING_KNOB = "rvm_pending"
RESUME_COMMAND = "import rvmatte_nuke.versions\nrvmatte_nuke.versions.resume_button(nuke.thisNode())"


def knob_specs():
    """(name, maker, default) of the versions setting, in panel order (node._knob_specs: before Generate)."""
    return [("keep_versions", lambda: nuke.Int_Knob("keep_versions", "keep versions"), 0)]


def button_specs():
    """The Resume button (beside Generate) and the hidden record of the unfinished run."""
    return [
        ("resume", lambda: nuke.PyScript_Knob("resume", "Resume", RESUME_COMMAND), None),
        (PENDING_KNOB, lambda: nuke.String_Knob(PENDING_KNOB, "unfinished run"), ""),
    ]


TOOLTIPS = {
    "keep_versions": "0: keep every version. N: after a successful Generate, remove the complete versions "
                     "(v001, v002, ... in the output directory) beyond the N finished last; an unfinished one "
                     "is never removed.",
    "resume": "Continue the version a cancelled or failed Generate left unfinished, keeping its complete "
              "frames (the node's settings and upstream must be those it was started with).",
}
HIDDEN = (PENDING_KNOB,)


def keep_count(group):
    """The keep versions knob (0: all); ValueError when negative."""
    knob = group.knob("keep_versions")
    count = int(knob.value()) if knob is not None else 0
    if count < 0:
        raise ValueError("keep versions is %d: 0 keeps every version, N the N finished last" % count)
    return count


def written_version(outcome):
    """The ``output_version`` of one worker run (its done message, else its start), or None."""
    for message in (getattr(outcome, "done", None), getattr(outcome, "start", None)):
        found = getattr(message, "output_version", None) if message is not None else None
        if found:
            return found
    return None


def inside(job, folder, pattern):
    """Where a pass of ``job`` (a pattern under its output directory) lies in version ``folder``."""
    return kit.relocated(job.output_dir, folder, pattern)


def unfinished(group, folder):
    """The host kit's resumable version of ``folder`` (an unfinished one changed after the current),
    or None; entries that cannot be read as versions are skipped (the worker names them)."""
    return kit.resumable(kit.list_versions(folder, errors=[]))


def pending(group):
    """What ``rvm_pending`` says of the last unfinished run ({} when nothing)."""
    knob = group.knob(PENDING_KNOB)
    try:
        data = json.loads(knob.value()) if knob is not None and knob.value() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def remember(group, job, outcomes):
    """A versioned Generate stopped early: the version it was writing, for Resume. Returns its name."""
    found = None
    for outcome in outcomes:
        found = written_version(outcome) or found
    if not getattr(job, "versions", False) or getattr(job, "people_job", False) or found is None:
        return None
    if group.knob(PENDING_KNOB) is not None:           # absent on a node not upgraded yet
        group[PENDING_KNOB].setValue(json.dumps({"version": found["name"], "state": job.state,
                                                 "first": job.first, "last": job.last}, sort_keys=True))
    show_resume(group)
    return found["name"]


def forget(group):
    if group.knob(PENDING_KNOB) is not None:
        group[PENDING_KNOB].setValue("")
    show_resume(group)


def show_resume(group):
    """Resume is shown only while there is something to resume: the node's last run stopped early,
    or its output directory holds an unfinished version changed after the current one (after Nuke
    itself stopped mid-run, when nothing was remembered); never for a people node (the worker splits
    its shot again in full). A folder listing: run on panel open."""
    from . import jobs, people

    knob = group.knob("resume")
    if knob is None:
        return
    if people.in_use(group):
        offered = False
    elif pending(group):
        offered = True
    else:
        try:
            offered = unfinished(group, jobs.output_dir(group)) is not None
        except Exception:  # noqa: BLE001 - an output directory that cannot be told offers nothing
            offered = False
    knob.setVisible(offered)


def resume(group):
    """The Resume button: Generate again into the node's unfinished version. Returns the GenerateRun,
    or None when there is nothing to resume or the node's settings are no longer that version's
    (then a message says so)."""
    from . import generate, jobs, staleness

    try:
        folder = jobs.output_dir(group)
    except jobs.JobError as exc:
        nuke.message("RVMatte %s: %s" % (group.name(), exc))
        return None
    version = unfinished(group, folder)
    if version is None:
        nuke.message("RVMatte %s: nothing to resume: no unfinished version in %s" % (group.name(), folder))
        return None
    started = pending(group)
    if started.get("version") == version.name and started.get("state") != staleness.state_hash(group):
        nuke.message("RVMatte %s: %s was started with other settings or another upstream: Resume continues it "
                     "only with those (Generate makes a new version)" % (group.name(), version.name))
        return None
    return generate.generate(group, resume=version.name)


def resume_button(group):
    resume(group)
