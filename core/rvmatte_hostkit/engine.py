"""``rvmatte-engine install``: a private Python environment with rvmatte, the right torch and the weights.

    python -m rvmatte_hostkit.engine install [--target DIR] [--find-links DIR] [--torch auto|cpu|cuda]
                                             [--weights FILE] [--offline] [--progress json|tty]

Run with the host's own Python (the engine does not exist yet), so this module is pure
standard library like the rest of the kit. The target folder holds::

    DIR/engine.json          the engine in use: its interpreter, weights, torch build (switched atomically)
    DIR/envs/<stamp>/        one virtual environment per install
    DIR/weights/             weights copied or downloaded for the engines

Each install builds a new environment beside the one in use and checks it with
``rvmatte doctor`` before ``engine.json`` is replaced (``os.replace``: a reader sees the old
or the new engine, never half of one). A failure removes the new folder and leaves the old
engine as it was; the one before the new engine is kept too, so a host still pointing at it
keeps working, and older ones are removed.

``--progress json`` prints the kit's progress lines (``progress.Step`` per step, then
``progress.Installed`` or an ``error``); pip's own output goes to stderr.
"""

import argparse
import collections
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

from . import __version__, environment, torch_build

MIN_PYTHON = (3, 10)
RECORD = "engine.json"
LOCK = "install.lock"
STEPS = ("torch", "environment", "torch-install", "rvmatte", "weights", "check", "switch")
STEP_TEXT = {
    "torch": "choosing the PyTorch build",
    "environment": "creating the environment",
    "torch-install": "installing PyTorch",
    "rvmatte": "installing rvmatte",
    "weights": "getting the weights",
    "check": "checking the new engine (rvmatte doctor)",
    "switch": "switching to the new engine",
}
TAIL = 30


class InstallError(Exception):
    """An install step failed; the message names the step and what went wrong, for the artist."""


def env_python(folder, windows=None):
    """The interpreter inside a virtual environment folder."""
    windows = (os.name == "nt") if windows is None else windows
    return os.path.join(folder, "Scripts", "python.exe") if windows else os.path.join(folder, "bin", "python")


def installed_version(python, package="rvmatte"):
    """The version of ``package`` installed in the environment of the interpreter ``python``, read
    from its ``.dist-info`` folder name (a directory listing, no process: hosts call this on their
    GUI thread); None when the interpreter is not inside an environment holding it.
    ``<env>/bin/python`` → ``<env>/lib/python3.X/site-packages``; ``<env>\\Scripts\\python.exe``
    → ``<env>\\Lib\\site-packages``."""
    if not python:
        return None
    root = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    places = [os.path.join(root, "Lib", "site-packages")]
    try:
        places += [os.path.join(root, "lib", name, "site-packages") for name in sorted(os.listdir(os.path.join(root, "lib")))
                   if name.startswith("python")]
    except OSError:
        pass
    prefix = package.replace("-", "_").lower() + "-"
    for place in places:
        try:
            names = os.listdir(place)
        except OSError:
            continue
        for name in sorted(names):
            if name.lower().startswith(prefix) and name.endswith(".dist-info"):
                return name[len(prefix):-len(".dist-info")]
    return None


def default_target(host="", system=None, environ=None):
    """Where an engine goes when no ``--target`` is given: Nuke's under ``~/.nuke``; otherwise the user's
    data folder (Blender passes its extension's user directory itself)."""
    environ = os.environ if environ is None else environ
    system = (system or platform.system()).lower()
    home = environ.get("HOME") or environ.get("USERPROFILE") or os.path.expanduser("~")
    if host == "nuke":
        return os.path.join(home, ".nuke", "rvmatte", "engine")
    if system == "windows":
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    elif system == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "rvmatte", "engine")


def base_python_problem(version):
    """None when a Python of ``version`` (a tuple) can host the engine; else why not."""
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    return ("this Python is %s; the engine needs Python %s or newer: pass --python with one (Nuke 13-15's "
            "Python is too old; a system python3.11 will do)" % (".".join(map(str, version[:3])),
                                                                 ".".join(map(str, MIN_PYTHON))))


def find_base_python(current=None, version=None, which=shutil.which):
    """The interpreter that creates the environment: this one when new enough, else python3.12/3.11/3.10
    from PATH; None when there is none."""
    current = sys.executable if current is None else current
    version = sys.version_info if version is None else version
    if current and base_python_problem(version) is None:
        return current
    for name in ("python3.13", "python3.12", "python3.11", "python3.10"):
        found = which(name)
        if found:
            return found
    return None


class InstallPlan(object):
    """What one install does, decided before anything is written (``plan_install``)."""

    def __init__(self, target, folder, base_python, torch, package, find_links=(), weights="",
                 weights_source="download", torch_index=None, windows=None):
        self.target = target
        self.folder = folder
        self.base_python = base_python
        self.torch = torch
        self.package = package
        self.find_links = list(find_links)
        self.weights = weights
        self.weights_source = weights_source      # copy | environment | download | none
        self.torch_index = torch.index_url if torch_index is None else torch_index
        self.python = env_python(folder, windows)

    def pip(self, *requirements, index_url=""):
        argv = [self.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        for folder in self.find_links:
            argv += ["--find-links", folder]
        if index_url and not self.find_links:
            argv += ["--index-url", index_url]
        return argv + list(requirements)

    def commands(self):
        """(step, argv) of the steps that run a program, in order."""
        return [("environment", [self.base_python, "-m", "venv", self.folder]),
                ("torch-install", self.pip(self.torch.requirement, index_url=self.torch_index)),
                ("rvmatte", self.pip(self.package))]


def plan_install(target, base_python, torch, find_links=(), weights="", offline=False, package="",
                 environ=None, stamp=None, torch_index=None, windows=None):
    """The plan of an install into ``target``; a new folder under ``target/envs`` named by ``stamp``."""
    environ = os.environ if environ is None else environ
    stamp = stamp or "%s-%d" % (time.strftime("%Y%m%d-%H%M%S"), os.getpid())
    folder = os.path.join(target, "envs", stamp)
    if weights:
        source = "copy"
    elif environ.get("RVMATTE_WEIGHTS"):
        source, weights = "environment", environ["RVMATTE_WEIGHTS"]
    else:
        source = "none" if offline else "download"
    package = package or "rvmatte==%s" % __version__
    return InstallPlan(os.path.abspath(target), os.path.abspath(folder), base_python, torch, package,
                       [os.path.abspath(f) for f in find_links], weights, source, torch_index, windows)


def current_engine(target):
    """The engine in use in ``target`` (the record ``engine.json`` holds), or None."""
    try:
        with open(os.path.join(target, RECORD), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("python") else None


def activate(target, record):
    """Make ``record`` the engine in use: written beside, then renamed over ``engine.json``."""
    path = os.path.join(target, RECORD)
    temp = "%s.tmp-%d" % (path, os.getpid())
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def prune(target, keep):
    """Remove the environments under ``target/envs`` whose folders are not in ``keep``; returns those removed."""
    envs = os.path.join(target, "envs")
    keep = set(os.path.normcase(os.path.abspath(k)) for k in keep if k)
    removed = []
    for name in sorted(os.listdir(envs)) if os.path.isdir(envs) else ():
        folder = os.path.join(envs, name)
        if os.path.normcase(os.path.abspath(folder)) not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class Lock(object):
    """One install at a time per target: a file created exclusively, naming the process that holds it."""

    def __init__(self, target):
        self.path = os.path.join(target, LOCK)

    def __enter__(self):
        for _ in range(2):
            try:
                handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if self._holder_alive():
                    raise InstallError("another engine install is running in %s (remove %s if it is not)"
                                       % (os.path.dirname(self.path), self.path))
                os.remove(self.path)
                continue
            os.write(handle, str(os.getpid()).encode("ascii"))
            os.close(handle)
            return self
        raise InstallError("cannot lock %s" % self.path)

    def _holder_alive(self):
        try:
            with open(self.path, encoding="ascii") as handle:
                pid = int(handle.read().strip() or 0)
        except (OSError, ValueError):
            return False
        if pid <= 0 or os.name != "posix":
            return pid > 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def __exit__(self, *exc):
        try:
            os.remove(self.path)
        except OSError:
            pass


class Reporter(object):
    """Progress to stdout: the kit's JSON lines (``json``) or plain text (``tty``); program output to stderr."""

    def __init__(self, mode="tty", out=None, err=None):
        self.mode = mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def _emit(self, obj, text):
        if self.mode == "json":
            self.out.write(json.dumps(obj) + "\n")
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def step(self, name, detail=""):
        done = STEPS.index(name) + 1
        message = STEP_TEXT[name] + (": " + detail if detail else "")
        self._emit({"event": "step", "name": name, "done": done, "total": len(STEPS), "message": message},
                   "rvmatte-engine: [%d/%d] %s" % (done, len(STEPS), message))

    def warning(self, message):
        self._emit({"event": "warning", "message": message}, "rvmatte-engine: warning: " + message)

    def installed(self, record):
        obj = {"event": "installed"}
        obj.update((k, record[k]) for k in ("python", "weights", "torch", "folder"))
        self._emit(obj, "rvmatte-engine: installed: worker %s" % record["python"])

    def error(self, message):
        self._emit({"event": "error", "message": message}, "rvmatte-engine: error: " + message)

    def log(self, line):
        self.err.write(line if line.endswith("\n") else line + "\n")
        self.err.flush()


def _run(step, argv, reporter, env, cwd=None):
    """Run one program, its output forwarded to the log; InstallError naming the step when it fails."""
    tail = collections.deque(maxlen=TAIL)
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=env, cwd=cwd, universal_newlines=True, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InstallError("%s failed: cannot start %s: %s" % (STEP_TEXT[step], argv[0], exc.strerror or exc))
    for line in process.stdout:
        tail.append(line.rstrip())
        reporter.log(line)
    code = process.wait()
    if code != 0:
        raise InstallError("%s failed (exit %d): %s" % (STEP_TEXT[step], code, _cause(tail)))
    return list(tail)


def _cause(lines):
    """The line of a program's output that says what went wrong (pip's ``ERROR:`` lines first)."""
    lines = [l.strip() for l in lines if l.strip()]
    errors = [l for l in lines if l.startswith("ERROR:")]
    if errors:
        return errors[0][len("ERROR:"):].strip()
    return lines[-1] if lines else "no output"


def _copy_weights(plan):
    folder = os.path.join(plan.target, "weights")
    os.makedirs(folder, exist_ok=True)
    destination = os.path.join(folder, os.path.basename(plan.weights))
    temp = "%s.tmp-%d" % (destination, os.getpid())
    try:
        shutil.copyfile(plan.weights, temp)
        os.replace(temp, destination)
    except OSError as exc:
        if os.path.exists(temp):
            os.remove(temp)
        raise InstallError("getting the weights failed: cannot copy %s: %s" % (plan.weights, exc.strerror or exc))
    return destination


_DOWNLOAD = "import sys; from rvmatte.weights import resolve; print(resolve(sys.argv[1], None, download=True))"


def _weights(plan, reporter, env):
    if plan.weights_source == "copy":
        if not os.path.isfile(plan.weights):
            raise InstallError("getting the weights failed: %s is not a file" % plan.weights)
        reporter.step("weights", "copying %s" % plan.weights)
        return _copy_weights(plan)
    if plan.weights_source == "environment":
        reporter.step("weights", "RVMATTE_WEIGHTS %s" % plan.weights)
        return plan.weights
    if plan.weights_source == "none":
        reporter.step("weights", "skipped: online access is off")
        reporter.warning("no weights: online access is off and none were given; choose a weights file "
                         "(rvm_mobilenetv3.pth) in the preferences, or install again with --weights FILE")
        return ""
    reporter.step("weights", "downloading the official rvm_mobilenetv3.pth")
    cache = dict(env, RVMATTE_CACHE=os.path.join(plan.target, "weights"))
    cache.pop("RVMATTE_OFFLINE", None)
    lines = _run("weights", [plan.python, "-c", _DOWNLOAD, "mobilenetv3"], reporter, cache)
    found = [l for l in lines if os.path.isfile(l)]
    if not found:
        raise InstallError("getting the weights failed: the download named no file")
    return found[-1]


def _check(plan, weights, reporter, env):
    argv = [plan.python, "-m", "rvmatte", "doctor", "--progress", "json", "--device", "cpu"]
    if weights:
        argv += ["--weights", weights]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, universal_newlines=True, encoding="utf-8", errors="replace")
    out, err = process.communicate()
    for line in err.splitlines():
        reporter.log(line)
    failed = []
    for line in out.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("event") == "check" and not obj.get("ok"):
            if obj.get("name") == "weights" and not weights:
                continue
            failed.append("%s: %s" % (obj.get("name"), obj.get("detail")))
    if failed or (process.returncode not in (0, 1)):
        raise InstallError("the new engine does not work: %s" % ("; ".join(failed) or _cause(err.splitlines())))


def install(plan, reporter, base_env=None):
    """Carry out ``plan``; returns the new engine's record. On failure the new folder is removed, the engine
    in use stays, and InstallError says which step failed."""
    env = environment.worker_environment(base_env)
    os.makedirs(os.path.join(plan.target, "envs"), exist_ok=True)
    with Lock(plan.target):
        previous = current_engine(plan.target)
        try:
            commands = plan.commands()
            for step, argv in commands:
                reporter.step(step, {"environment": plan.folder, "torch-install": plan.torch.requirement +
                                     (" from " + plan.torch_index if plan.torch_index and not plan.find_links
                                      else ""), "rvmatte": plan.package}[step])
                _run(step, argv, reporter, env)
            weights = _weights(plan, reporter, env)
            reporter.step("check")
            _check(plan, weights, reporter, env)
            reporter.step("switch", plan.target)
            record = {"python": plan.python, "weights": weights, "folder": plan.folder,
                      "torch": "%s (%s)" % (plan.torch.requirement, plan.torch.kind), "package": plan.package,
                      "installed": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            activate(plan.target, record)
        except BaseException:
            shutil.rmtree(plan.folder, ignore_errors=True)
            raise
        prune(plan.target, [plan.folder, previous.get("folder") if previous else ""])
    return record


def _terminated(_signum, _frame):
    raise KeyboardInterrupt


def cmd_install(args, reporter):
    system = platform.system()
    base = args.python or find_base_python()
    if base is None:
        raise InstallError(base_python_problem(sys.version_info))
    if args.torch == "auto" and system.lower() != "darwin":
        smi = torch_build.detect_nvidia_smi(system)
    else:
        smi = None
    try:
        build = torch_build.choose_torch(system, platform.machine(), smi, args.torch)
    except torch_build.TorchChoiceError as exc:
        raise InstallError(str(exc))
    if args.torch_requirement:
        build = build._replace(requirement=args.torch_requirement)
    reporter.step("torch", "%s (%s)" % (build.requirement, build.reason))
    target = args.target or default_target(args.host)
    plan = plan_install(target, base, build, args.find_links or (), args.weights or "", args.offline, args.package,
                        torch_index=args.torch_index)
    record = install(plan, reporter)
    reporter.installed(record)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="rvmatte-engine", description="Install the rvmatte engine: a private "
                                     "Python environment with rvmatte, the torch build for this machine and "
                                     "the weights.")
    sub = parser.add_subparsers(dest="command")
    sub.required = True
    p = sub.add_parser("install", help="install (or replace) the engine")
    p.add_argument("--target", help="the engine folder (default: the host's user data folder)")
    p.add_argument("--host", choices=("", "blender", "nuke"), default="", help="whose default folder to use")
    p.add_argument("--find-links", action="append", metavar="DIR",
                   help="a folder of wheels (offline installs: rvmatte's wheel and torch's); repeatable")
    p.add_argument("--torch", choices=torch_build.CHOICES, default="auto",
                   help="auto: CUDA on NVIDIA, Metal on Apple silicon, else CPU")
    p.add_argument("--torch-requirement", metavar="SPEC",
                   help="the torch requirement (default: torch==%s, the version rvmatte is tested with)"
                        % torch_build.TORCH_VERSION)
    p.add_argument("--torch-index", help="the index torch comes from (default: PyTorch's for the chosen build)")
    p.add_argument("--weights", metavar="FILE", help="copy this checkpoint instead of downloading the official one")
    p.add_argument("--offline", action="store_true", help="download nothing but packages (no weights download)")
    p.add_argument("--package", default="", help="what to install as rvmatte (default: rvmatte==%s)" % __version__)
    p.add_argument("--python", help="the Python that creates the environment (3.10 or newer; default: this one)")
    p.add_argument("--progress", choices=("tty", "json"), default="tty")
    p.set_defaults(func=cmd_install)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    reporter = Reporter(args.progress)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminated)
    try:
        return args.func(args, reporter)
    except InstallError as exc:
        reporter.error(str(exc))
    except KeyboardInterrupt:
        reporter.error("the install was cancelled; the engine in use is unchanged")
    except OSError as exc:
        reporter.error("the install failed: %s" % exc)
    return 1


if __name__ == "__main__":
    sys.exit(main())
