import json
import os
import re
import sys
import time


def option(argv, name, default=None):
    return argv[argv.index(name) + 1] if name in argv else default


def frame_file(pattern, frame):
    return re.sub(r"#+|%0?(\d*)d", lambda m: "%0*d" % (len(m.group(0)) if m.group(0)[0] == "#"
                                                       else int(m.group(1) or 1), frame), pattern)


def emit(**event):
    print(json.dumps(event), flush=True)


def main(argv):
    mode = os.environ.get("FAKE_RVMATTE_MODE", "ok")
    log = os.environ.get("FAKE_RVMATTE_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps(argv) + "\n")
    if argv == ["--version"]:
        print("rvmatte 0.0-fake")
        return 0
    if argv[:1] == ["finetune"]:
        return finetune(argv, mode)
    if argv[:1] != ["run"]:
        print("rvmatte: error: only `run` and `finetune` are faked", file=sys.stderr)
        return 2
    first, last = (int(x) for x in option(argv, "--frames").split("-"))
    total = last - first + 1
    if mode == "crash":
        print("Traceback (most recent call last):\n  File \"x\", line 1\nMemoryError: out of memory", file=sys.stderr)
        return 1
    emit(event="start", version="0.0-fake", input=argv[1], frames=total, first=first, last=last,
         width=64, height=36, device="cpu", variant=option(argv, "--variant"), downsample_ratio=1.0,
         outputs={"alpha": option(argv, "--alpha"), "foreground": option(argv, "--foreground")})
    started = time.time()
    if mode == "warn":
        emit(event="warning", message="the weights were fine-tuned for another shot")
    for done, frame in enumerate(range(first, last + 1), 1):
        if mode == "fail" and done == 3:
            message = "frame %d is missing: %s" % (frame, frame_file(argv[1], frame))
            emit(event="error", message=message)
            print("rvmatte: error: " + message, file=sys.stderr)
            return 2
        if mode == "slow":
            time.sleep(0.3)
        for key in ("--alpha", "--foreground"):
            path = frame_file(option(argv, key), frame)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(b"fake exr %d" % frame)
        emit(event="frame", frame=frame, done=done, total=total, fps=12.5, skipped=False)
    emit(event="done", frames=total, written=total, skipped=0, seconds=round(time.time() - started, 3), fps=12.5,
         outputs={"alpha": option(argv, "--alpha"), "foreground": option(argv, "--foreground")})
    return 0


def finetune(argv, mode):
    """`rvmatte finetune`'s JSON lines: start, one step per --steps (default 20), done; the checkpoint is
    a small file naming the keyframes it was given."""
    steps = int(option(argv, "--steps", "20"))
    output, keys = option(argv, "-o"), option(argv, "--keyframes")
    folder, name = os.path.split(keys)
    stem, _, suffix = name.partition("####")
    frames = sorted(int(n[len(stem):-len(suffix)]) for n in os.listdir(folder)
                    if n.startswith(stem) and n.endswith(suffix) and n[len(stem):-len(suffix)].isdigit())
    emit(event="start", task="finetune", version="0.0-fake", input=argv[1], frames=10, width=64, height=36,
         device="cpu", keyframes=frames, steps=steps, output=output)
    for step in range(1, steps + 1):
        if mode == "fail" and step == 2:
            message = "keyframe %d is 32x32, the shot is 64x36: %s" % (frames[0], frame_file(keys, frames[0]))
            emit(event="error", message=message)
            print("rvmatte: error: " + message, file=sys.stderr)
            return 1
        if mode == "slow":
            time.sleep(0.3)
        emit(event="step", step=step, total=steps, loss=round(1.0 / step, 4))
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output + ".tmp", "w") as handle:
        handle.write("fake tuned weights from %s\n" % frames)
    os.replace(output + ".tmp", output)
    emit(event="done", task="finetune", output=output, sha256="f" * 64, steps=steps, seconds=0.5,
         sidecar=output + ".rvmatte.json")
    return 0


sys.exit(main(sys.argv[1:]))
