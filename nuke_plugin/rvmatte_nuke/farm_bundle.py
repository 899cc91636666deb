"""Writes the farm job for RVMatte nodes with the core's farm tools; run by the
worker interpreter (the one with rvmatte), never inside Nuke:

    <python> farm_bundle.py SPEC.json

SPEC (written by farm.py) lists one shot per node and view. The core writes
its Open Job Description bundle (one step per shot, chunks warmed up by a
preroll); a shot whose plate is a precomp gets a Nuke step before it
(`nuke -t precomp.py ...`, needs a Nuke licence) and the rvmatte step depends
on it. A shot with keyframes (already rendered by the plugin) gets the core's
fine-tune step, which waits for the precomp too. A versioned shot (every shot but
the people pass's) gets the core's choose and finish steps around its chunks
(``rvmatte farm … --versions``); the choose step waits for the precomp too. Prints
JSON: the bundle's files and each shot's output patterns (outside the version
folder, which the choose step picks: Load results looks for it)."""
import json
import sys

PARAMETER_LIMIT = 50
NUKE_PARAMETERS = [
    {"name": "NukeExecutable", "type": "STRING", "default": "nuke", "minLength": 1,
     "description": "Nuke on the workers that run the precomp steps (needs a Nuke licence)."},
    {"name": "NukeScript", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
     "description": "The Nuke script holding the RVMatte nodes."},
    {"name": "NukePrecompScript", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
     "description": "The plugin's precomp.py, copied into the bundle."},
]


def precomp_step(shot, step_name):
    args = ["-t", "{{Param.NukePrecompScript}}", "{{Param.NukeScript}}", shot["node"],
            str(shot["first"]), str(shot["last"]), shot["precomp_pattern"]]
    if shot.get("view"):
        args.append(shot["view"])
    return {
        "name": step_name,
        "description": "Nuke precomp of %s%s: its input to EXR, frames %d-%d (needs a Nuke licence)" % (
            shot["node"], " view " + shot["view"] if shot.get("view") else "", shot["first"], shot["last"]),
        "script": {"actions": {"onRun": {"command": "{{Param.NukeExecutable}}", "args": args,
                                         "cancelation": {"mode": "NOTIFY_THEN_TERMINATE"}}}},
    }


def build(spec):
    from rvmatte.farm import openjd
    from rvmatte.farm.run_args import check_finetune_args
    from rvmatte.farm.shots import Shot, attach_finetune, safe_name

    shots = []
    for entry in spec["shots"]:
        shot = Shot(name=safe_name(entry["name"]), input=entry["input"], kind="sequence",
                    frames=list(range(entry["first"], entry["last"] + 1)), output_dir=entry["output_dir"],
                    chunk_size=spec["chunk_size"], preroll=spec["preroll"], input_first=entry["first"],
                    run_args=list(entry["run_args"]), keyframes=entry.get("keyframes"),
                    finetune_args=list(entry.get("finetune_args") or []),
                    versions=bool(entry.get("versions")), keep_versions=entry.get("keep_versions"))
        if shot.keyframes:
            check_keyframes(shot)
            check_finetune_args(shot.finetune_args, shot.name)
        shots.append(shot)
    attach_finetune(shots, spec["weights"])
    files = openjd.write_bundle(spec["bundle"], shots, weights=spec["weights"], device=spec["device"],
                                rvmatte_command=spec["rvmatte_command"], job_name=spec.get("job_name"))
    with open(files["template"]) as handle:
        template = json.load(handle)
    steps = {step["name"]: step for step in template["steps"]}
    precomps = []
    for entry, shot in zip(spec["shots"], shots):
        if not entry.get("precomp_pattern"):
            continue
        name = ("precomp " + shot.name)[:64]
        precomps.append(precomp_step(entry, name))
        waiting = [shot.name[:64]] + (["%s finetune" % shot.name[:55]] if shot.keyframes else [])
        if shot.versions:
            waiting.append(openjd.version_step_names(shot)[0])
        for step_name in waiting:
            steps[step_name].setdefault("dependencies", []).append({"dependsOn": name})
    if precomps:
        template["parameterDefinitions"] += NUKE_PARAMETERS
        if len(template["parameterDefinitions"]) > PARAMETER_LIMIT:
            raise ValueError("%d shots with precomps do not fit one job; select fewer nodes" % len(shots))
        template["steps"] = precomps + template["steps"]
        values = {"NukeExecutable": spec.get("nuke_executable") or "nuke", "NukeScript": spec["nuke_script"],
                  "NukePrecompScript": spec["precomp_script"]}
        with open(files["openjd_params"]) as handle:
            params = json.load(handle)
        params.update(values)
        with open(files["parameter_values"]) as handle:
            bundle_values = json.load(handle)
        bundle_values["parameterValues"] += [{"name": k, "value": v} for k, v in values.items()]
        for role, document in (("template", template), ("openjd_params", params),
                               ("parameter_values", bundle_values)):
            with open(files[role], "w") as handle:
                json.dump(document, handle, indent=2)
                handle.write("\n")
    return {"files": files, "writes": dict((s.name, s.writes()) for s in shots)}


def check_keyframes(shot):
    """The keyframe files the plugin rendered exist and lie on the shot's frames."""
    from rvmatte.errors import InputError
    from rvmatte.io.sequence import parse_pattern

    pattern = parse_pattern(shot.keyframes)
    present = pattern.frames_on_disk() if pattern is not None else []
    if not present:
        raise InputError("%s: no keyframe files found for %s" % (shot.name, shot.keyframes))
    outside = sorted(set(present) - set(shot.frames))
    if outside:
        raise InputError("%s: keyframe %d is not one of the shot's frames" % (shot.name, outside[0]))


def main(argv):
    if len(argv) != 1:
        sys.stderr.write("usage: python farm_bundle.py SPEC.json\n")
        return 2
    with open(argv[0]) as handle:
        spec = json.load(handle)
    try:
        result = build(spec)
    except Exception as exc:  # the plugin shows this line in a Nuke message
        sys.stderr.write("rvmatte: error: %s\n" % exc)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
