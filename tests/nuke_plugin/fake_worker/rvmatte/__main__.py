"""`-o OUT --versions [--keep-versions N]` writes into OUT/v### as docs/io.md says: a folder per
result key (here a digest of the options the real key covers, the plate by its options, not its
path), the same key reuses its folder and keeps its complete frames, rvmatte-version.json holds the
state, SIGTERM marks it cancelled and a failure failed; with the people pass (a target, a point,
People N) a reused version keeps no frames: the real worker splits the shot again in full."""
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time

FLAGS = ("--versions", "--resume", "--debug")                     # options without a value
NOT_KEYED = ("-o", "--alpha", "--foreground", "--frames", "--device", "--progress", "--keep-versions",
             "--versions", "--resume", "--debug")
PEOPLE = ("--target", "--target-point", "--people")
STATE_FILE = "rvmatte-version.json"


def option(argv, name, default=None):
    return argv[argv.index(name) + 1] if name in argv else default


def frame_file(pattern, frame):
    return re.sub(r"#+|%0?(\d*)d", lambda m: "%0*d" % (len(m.group(0)) if m.group(0)[0] == "#"
                                                       else int(m.group(1) or 1), frame), pattern)


def result_key(argv):
    """A digest of the options that decide what a frame holds (the plate by its options, not its path)."""
    keyed, i = [], 2
    while i < len(argv):
        name = argv[i]
        value = None if name in FLAGS else argv[i + 1]
        if name not in NOT_KEYED:
            keyed.append([name, value])
        i += 1 if name in FLAGS else 2
    return hashlib.sha256(json.dumps(keyed).encode()).hexdigest()[:16]


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_versions(root):
    found = []
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        path = os.path.join(root, name, STATE_FILE)
        if re.match(r"^v\d{3,}$", name) and os.path.isfile(path):
            with open(path) as stream:
                found.append((name, json.load(stream)))
    return found


def write_state(folder, state):
    with open(os.path.join(folder, STATE_FILE + ".tmp"), "w") as stream:
        json.dump(state, stream, indent=1)
    os.replace(os.path.join(folder, STATE_FILE + ".tmp"), os.path.join(folder, STATE_FILE))


class Version(object):
    """The version folder of this run: the newest holding its key, else one past the highest."""

    def __init__(self, root, key):
        self.root = root
        same = [(name, state) for name, state in read_versions(root) if state["key"] == key]
        self.reused = bool(same)
        if same:
            self.name, self.state = same[-1]
        else:
            numbers = [int(n[1:]) for n in (os.listdir(root) if os.path.isdir(root) else []) if re.match(r"^v\d{3,}$", n)]
            self.name = "v%03d" % (max(numbers, default=0) + 1)
            self.state = {"key": key, "state": "running", "frames": "", "created": now(), "updated": now(),
                          "message": None, "fields": {}}
        self.folder = os.path.join(root, self.name)
        os.makedirs(self.folder, exist_ok=True)

    def inside(self, pattern):
        return os.path.join(self.folder, os.path.relpath(pattern, self.root))

    def done_frames(self):
        frames = set()
        for part in self.state["frames"].split(","):
            if part.strip():
                a, _, b = part.strip().partition("-")
                frames.update(range(int(a), int(b or a) + 1))
        return frames

    def mark(self, state, frames=(), message=None):
        runs = []
        for frame in sorted(self.done_frames() | set(frames)):
            if runs and frame == runs[-1][1] + 1:
                runs[-1][1] = frame
            else:
                runs.append([frame, frame])
        text = ", ".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in runs)
        self.state.update(state=state, frames=text, updated=now(), message=message)
        write_state(self.folder, self.state)

    def describe(self):
        return {"name": self.name, "folder": self.folder, "state": self.state["state"], "reused": self.reused}

    def prune(self, keep):
        complete = sorted(((s["updated"], n) for n, s in read_versions(self.root) if s["state"] == "complete"))
        removed = []
        for _, name in complete[:max(len(complete) - keep, 0)]:
            if name != self.name:
                shutil.rmtree(os.path.join(self.root, name))
                removed.append(os.path.join(self.root, name))
        return removed


def interrupted(signum, frame):
    raise KeyboardInterrupt


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
    outputs = {"alpha": option(argv, "--alpha"), "foreground": option(argv, "--foreground")}
    version, kept = None, set()
    if "--versions" in argv:
        version = Version(option(argv, "-o"), result_key(argv))
        outputs = dict((k, version.inside(v)) for k, v in outputs.items())
        kept = set(f for f in version.done_frames() if first <= f <= last
                   and all(os.path.isfile(frame_file(p, f)) for p in outputs.values())
                   and not any(name in argv for name in PEOPLE))
        if len(kept) < total:
            version.mark("running")
    signal.signal(signal.SIGTERM, interrupted)
    emit(event="start", version="0.0-fake", input=argv[1], frames=total, first=first, last=last,
         width=64, height=36, device="cpu", variant=option(argv, "--variant"), downsample_ratio=1.0,
         outputs=outputs, output_version=version.describe() if version else None)
    started = time.time()
    if mode == "warn":
        emit(event="warning", message="the weights were fine-tuned for another shot")
    written = []
    try:
        for done, frame in enumerate(range(first, last + 1), 1):
            if frame in kept:
                emit(event="frame", frame=frame, done=done, total=total, fps=0.0, skipped=True)
                continue
            if mode == "fail" and done == 3:
                message = "frame %d is missing: %s" % (frame, frame_file(argv[1], frame))
                if version:
                    version.mark("failed", written, message)
                emit(event="error", message=message)
                print("rvmatte: error: " + message, file=sys.stderr)
                return 2
            if mode == "slow":
                time.sleep(0.3)
            for path in outputs.values():
                path = frame_file(path, frame)
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(b"fake exr %d %s" % (frame, (version.state["key"] if version else "").encode()))
            written.append(frame)
            emit(event="frame", frame=frame, done=done, total=total, fps=12.5, skipped=False)
    except KeyboardInterrupt:
        if version:
            version.mark("cancelled", written, "interrupted")
        emit(event="error", message="interrupted")
        return 130
    described = None
    if version:
        version.mark("complete", range(first, last + 1))
        keep = int(option(argv, "--keep-versions", "0"))
        described = dict(version.describe(), removed=version.prune(keep) if keep else [])
    emit(event="done", frames=total, written=len(written), skipped=len(kept), seconds=round(time.time() - started, 3),
         fps=12.5, outputs=outputs, output_version=described)
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
