"""Shots for the farm: what each one reads, which frames it covers, where it writes.

A shot comes from a path typed on the command line (an image sequence, one of
its files, a folder holding one sequence, or a movie) or from a shot list:

* a text file, one input per line (blank lines and ``#`` comments ignored);
* a JSON file, either a list of shots or ``{"defaults": {...}, "shots": [...]}``,
  where a shot is an input path or an object with the keys in ``SHOT_KEYS``.

Relative paths in a shot list are relative to the list's folder.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from ..errors import InputError
from .plan import Chunk, parse_frame_list, plan_chunks
from .run_args import check_finetune_args, check_run_args, refuse_control_characters

DEFAULT_CHUNK_SIZE = 100
#: Chosen from bench/chunk_continuity.py (docs/farm.md): on both clips measured,
#: 32 frames of preroll is the first setting that cuts the boundary error to
#: well under the shot's own frame-to-frame change; 8 and 16 leave it close.
DEFAULT_PREROLL = 32

SHOT_KEYS = {
    "input": "plate: image sequence pattern, one of its files, its folder, or a movie",
    "name": "shot name (default: the input's base name)",
    "frames": "frame list, e.g. 1001-1100 or 1001-1050,1060-1100 (default: every frame on disk)",
    "output_dir": "folder for the shot's passes (default: OUTPUT_ROOT/<name>)",
    "chunk_size": "frames per task",
    "preroll": "warm-up frames before each chunk",
    "start_frame": "number of a movie's first frame",
    "run_args": "extra `rvmatte run` arguments, a list of strings",
    "keyframes": "corrected alpha frames of the shot (a sequence pattern): the weights are fine-tuned on the "
                 "shot first, in one task the matte tasks wait for (docs/training.md)",
    "finetune_args": "extra `rvmatte finetune` arguments, a list of strings",
}
DEFAULT_KEYS = ("output_root", "chunk_size", "preroll", "run_args", "finetune_args")

SHOT_LIST_SUFFIXES = (".json", ".txt")

@dataclass
class Shot:
    """One shot to process; ``plate_dir``/``plate_file`` split the input for PATH parameters."""

    name: str
    input: str
    kind: str  # "sequence" or "movie"
    frames: list[int]
    output_dir: str
    chunk_size: int = DEFAULT_CHUNK_SIZE
    preroll: int = DEFAULT_PREROLL
    input_first: int | None = None
    start_frame: int | None = None
    run_args: list[str] = field(default_factory=list)
    keyframes: str | None = None
    finetune_args: list[str] = field(default_factory=list)
    #: The tuned checkpoint the matte tasks load (``attach_finetune``), when the shot has keyframes.
    tuned_weights: str | None = None
    #: ``rvmatte farm … --versions``: the shot writes into ``output_dir/v###`` (a choose task first, a
    #: finish task after every chunk; docs/farm.md); ``keep_versions`` is applied by the finish task.
    versions: bool = False
    keep_versions: int | None = None
    #: Set when ``output_dir`` is ``output_root/<name>``, so a renamed shot moves with its name.
    output_root: str | None = field(default=None, repr=False, compare=False)

    @property
    def plate_dir(self) -> str:
        return os.path.dirname(self.input)

    @property
    def plate_file(self) -> str:
        return os.path.basename(self.input)

    @property
    def output_name(self) -> str:
        """``<name>`` in ``<name>.alpha.####.exr``: what `rvmatte run` derives from the input."""
        if self.kind == "movie":
            return os.path.splitext(os.path.basename(self.input))[0]
        from ..io.sequence import find_sequence, parse_pattern

        pattern = parse_pattern(self.input)
        return (pattern or find_sequence(self.input)).name

    @property
    def has_people(self) -> bool:
        """Whether the runs pick or split people (``--target``, ``--target-point``, ``--people``): then the
        shot is three steps, matte chunks → one labelling task → per-chunk writes (docs/people.md)."""
        from ..people.cli import wants_people

        return bool(self.run_args) and wants_people(check_run_args(self.run_args, self.name))

    def chunks(self, division: str = "even") -> list[Chunk]:
        return plan_chunks(self.frames, self.chunk_size, self.preroll, division, reverse=self.has_reverse_stream)

    @property
    def has_reverse_stream(self) -> bool:
        """Whether the runs' ``--ensemble`` has a reverse stream (its chunks read a postroll)."""
        args = list(self.run_args)
        values = [b for a, b in zip(args, args[1:]) if a == "--ensemble"]
        values += [a.split("=", 1)[1] for a in args if a.startswith("--ensemble=")]
        return any("reverse" in [item.strip().lower() for item in v.split(",")] for v in values)

    def writes(self) -> dict[str, str]:
        """The output passes this shot's runs write, as ``name: hashes pattern``."""
        passes = {}
        if "--no-alpha" not in self.run_args:
            passes["alpha"] = os.path.join(self.output_dir, f"{self.output_name}.alpha.####.exr")
        if "--no-foreground" not in self.run_args:
            passes["foreground"] = os.path.join(self.output_dir, f"{self.output_name}.fgr.####.exr")
        if self.run_args:
            parsed = check_run_args(self.run_args, self.name)
            if parsed.target or parsed.target_point:   # then every pass carries the people pass's key
                passes["people"] = os.path.join(self.output_dir, f"{self.output_name}.people.####.exr")
        return passes

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "input": self.input,
            "kind": self.kind,
            "frames": self.frames,
            "output_dir": self.output_dir,
            "chunk_size": self.chunk_size,
            "preroll": self.preroll,
            "input_first": self.input_first,
            "start_frame": self.start_frame,
            "run_args": list(self.run_args),
            "keyframes": self.keyframes,
            "finetune_args": list(self.finetune_args),
            "tuned_weights": self.tuned_weights,
            "versions": self.versions,
            "keep_versions": self.keep_versions,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Shot":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def is_shot_list(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in SHOT_LIST_SUFFIXES


def safe_name(text: str) -> str:
    """A shot name usable in job, step and file names."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")
    return cleaned or "shot"


def resolve_input(path: str, start_frame: int | None = None) -> tuple[str, str, list[int]]:
    """``(input, kind, frames on disk)`` for a typed path; sequences come back as a ``####`` pattern."""
    from ..io.movies import MovieSource, is_movie
    from ..io.sequence import find_sequence

    if is_movie(path):
        movie = MovieSource(path, start_frame)
        return os.path.abspath(path), "movie", list(movie.frames)
    pattern = find_sequence(path)
    if pattern.padding is None:
        raise InputError(f"{path}: a single still image is not a shot (name a numbered sequence)")
    return os.path.abspath(pattern.hashes), "sequence", pattern.frames_on_disk()


def make_shot(
    entry: dict,
    *,
    where: str,
    output_root: str | None,
    chunk_size: int,
    preroll: int,
    run_args: list[str],
    finetune_args: list[str] | None = None,
) -> Shot:
    """Build a Shot from one shot-list entry (already a dict); ``where`` names it in errors."""
    unknown = sorted(set(entry) - set(SHOT_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(SHOT_KEYS)})")
    if not isinstance(entry.get("input"), str) or not entry["input"].strip():
        raise InputError(f"{where}: 'input' must be a path")
    start_frame = _int_option(entry, "start_frame", None, where, minimum=0)
    source, kind, on_disk = resolve_input(entry["input"], start_frame)
    if not on_disk:
        raise InputError(f"{where}: no frames found for {entry['input']}")
    frames = on_disk
    if entry.get("frames") is not None:
        frames = parse_frame_list(str(entry["frames"]), f"{where} frames")
        absent = sorted(set(frames) - set(on_disk))
        if absent:
            raise InputError(f"{where}: frame {absent[0]} is not on disk for {source}")
    name = entry.get("name") or _default_name(source, kind)
    if not isinstance(name, str):
        raise InputError(f"{where}: 'name' must be a string")
    output_dir = entry.get("output_dir")
    if output_dir is None:
        if output_root is None:
            raise InputError(f"{where}: no output folder; give --output-root or 'output_dir' in a JSON shot list")
        output_dir = os.path.join(output_root, safe_name(name))
    elif isinstance(output_dir, str):
        output_root = None
    if not isinstance(output_dir, str):
        raise InputError(f"{where}: 'output_dir' must be a path")
    extra = entry.get("run_args", run_args)
    if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
        raise InputError(f"{where}: 'run_args' must be a list of strings")
    parsed = check_run_args(extra, where)
    from ..people.cli import wants_people

    if wants_people(parsed) and len(frames) != frames[-1] - frames[0] + 1:
        raise InputError(f"{where}: with --target/--target-point/--people the frames must be one range "
                         f"without holes (identities are carried from frame to frame)")
    refuse_control_characters(source, f"{where}: input")
    refuse_control_characters(os.path.abspath(output_dir), f"{where}: output folder")
    keyframes = entry.get("keyframes")
    finetune_args = entry.get("finetune_args", finetune_args or [])
    if keyframes is not None:
        keyframes = _check_keyframes(keyframes, frames, where)
        _check_finetune_args(finetune_args, where)
    elif entry.get("finetune_args"):
        raise InputError(f"{where}: 'finetune_args' without 'keyframes' (nothing to fine-tune from)")
    return Shot(
        name=safe_name(name),
        input=source,
        kind=kind,
        frames=frames,
        output_dir=os.path.abspath(output_dir),
        chunk_size=_int_option(entry, "chunk_size", chunk_size, where, minimum=1),
        preroll=_int_option(entry, "preroll", preroll, where, minimum=0),
        input_first=on_disk[0],
        start_frame=start_frame,
        run_args=list(extra),
        keyframes=keyframes,
        finetune_args=list(finetune_args) if keyframes else [],
        output_root=None if output_root is None else os.path.abspath(output_root),
    )


def _check_keyframes(keyframes, frames: list[int], where: str) -> str:
    """The keyframe pattern, absolute, with at least one file on the shot's frames."""
    from ..io.sequence import find_sequence

    if not isinstance(keyframes, str) or not keyframes.strip():
        raise InputError(f"{where}: 'keyframes' must be a sequence pattern")
    try:
        pattern = find_sequence(keyframes)
    except InputError as error:
        raise InputError(f"{where}: keyframes: {error}") from None
    present = pattern.frames_on_disk() if pattern.padding is not None else []
    outside = sorted(set(present) - set(frames))
    if not present:
        raise InputError(f"{where}: no keyframe files found for {pattern.hashes}")
    if outside:
        raise InputError(f"{where}: keyframe {outside[0]} is not one of the shot's frames")
    refuse_control_characters(os.path.abspath(pattern.hashes), f"{where}: keyframes")
    return os.path.abspath(pattern.hashes)


def _check_finetune_args(args, where: str) -> None:
    """``finetune_args``: strings the real `rvmatte finetune` parser accepts, leaving alone what the farm sets."""
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InputError(f"{where}: 'finetune_args' must be a list of strings")
    check_finetune_args(args, where)


def tuned_weights_path(shot: Shot, weights: str) -> str:
    """``<output_dir>/tuned/<shot>.ft<sha8>.pth``: named by what the fine-tune is made of (base weights,
    keyframe files, plate, settings), so changed keyframes make a new file and a requeue finds its own."""
    import hashlib

    from ..io.sequence import find_sequence
    from ..weights import sha256_of

    pattern = find_sequence(shot.keyframes)
    keys = {str(f): sha256_of(pattern.path(f)) for f in pattern.frames_on_disk()}
    from .command import inherited_finetune_args

    args = inherited_finetune_args(shot.run_args) + list(shot.finetune_args)
    identity = json.dumps({"weights": sha256_of(weights), "keyframes": keys, "plate": shot.input,
                           "frames": [shot.frames[0], shot.frames[-1]], "args": args}, sort_keys=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return os.path.join(shot.output_dir, "tuned", f"{shot.name}.ft{digest}.pth")


def attach_finetune(shots: list[Shot], weights: str) -> None:
    """Give every shot with keyframes the tuned checkpoint its matte tasks load."""
    for shot in shots:
        if shot.keyframes:
            shot.tuned_weights = tuned_weights_path(shot, weights)


def load_shots(
    paths: list[str],
    *,
    output_root: str | None = None,
    chunk_size: int | None = None,
    preroll: int | None = None,
    frames: str | None = None,
    run_args: list[str] | None = None,
    keyframes: str | None = None,
    finetune_args: list[str] | None = None,
) -> list[Shot]:
    """Shots from typed inputs and shot lists, in order; names made unique.

    ``chunk_size``/``preroll``/``run_args`` given here apply where a shot list
    sets none; ``frames`` applies to inputs typed directly.
    """
    if not paths:
        raise InputError("no shot given (name an input or a shot list)")
    shots: list[Shot] = []
    for path in paths:
        if is_shot_list(path):
            shots.extend(_read_shot_list(path, output_root, chunk_size, preroll, run_args, finetune_args))
        else:
            entry = {"input": path} if frames is None else {"input": path, "frames": frames}
            if keyframes is not None:
                entry["keyframes"] = keyframes
            shots.append(
                make_shot(
                    entry,
                    where=path,
                    output_root=output_root,
                    chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                    preroll=DEFAULT_PREROLL if preroll is None else preroll,
                    run_args=list(run_args or []),
                    finetune_args=list(finetune_args or []),
                )
            )
    _make_names_unique(shots)
    writers: dict[str, str] = {}
    for shot in shots:
        for pattern in shot.writes().values():
            if pattern in writers:
                raise InputError(f"shots {writers[pattern]} and {shot.name} would both write {pattern}")
            writers[pattern] = shot.name
    return shots


def _read_shot_list(path, output_root, chunk_size, preroll, run_args, finetune_args=None) -> list[Shot]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise InputError(f"cannot read shot list {path}: {error.strerror}") from None
    base = os.path.dirname(os.path.abspath(path))
    defaults = {
        "output_root": output_root,
        "chunk_size": DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
        "preroll": DEFAULT_PREROLL if preroll is None else preroll,
        "run_args": list(run_args or []),
        "finetune_args": list(finetune_args or []),
    }
    if path.lower().endswith(".json"):
        entries, file_defaults = _json_entries(text, path)
        for key, value in file_defaults.items():
            if key == "output_root":
                defaults[key] = defaults[key] or _relative_to(base, value, f"{path}: defaults.output_root")
            elif key in ("chunk_size", "preroll") and (chunk_size if key == "chunk_size" else preroll) is not None:
                continue
            elif key == "run_args" and run_args:
                continue
            else:
                defaults[key] = value
    else:
        entries = [
            (f"{path} line {number}", {"input": line.strip()})
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.strip().startswith("#")
        ]
    if not entries:
        raise InputError(f"shot list {path} holds no shot")
    for key in ("chunk_size", "preroll"):
        _int_option(defaults, key, None, f"{path}: defaults", minimum=1 if key == "chunk_size" else 0)
    shots = []
    for where, entry in entries:
        entry = dict(entry)
        for key in ("input", "output_dir", "keyframes"):
            if isinstance(entry.get(key), str):
                entry[key] = _relative_to(base, entry[key], f"{where}: {key}")
        shots.append(
            make_shot(
                entry,
                where=where,
                output_root=defaults["output_root"],
                chunk_size=defaults["chunk_size"],
                preroll=defaults["preroll"],
                run_args=defaults["run_args"],
                finetune_args=defaults["finetune_args"],
            )
        )
    return shots


def _json_entries(text: str, path: str) -> tuple[list[tuple[str, dict]], dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"shot list {path} is not valid JSON (line {error.lineno}: {error.msg})") from None
    defaults: dict = {}
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"defaults", "shots"})
        if unknown:
            raise InputError(f"shot list {path}: unknown key {unknown[0]!r} (expected 'defaults' and 'shots')")
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            raise InputError(f"shot list {path}: 'defaults' must be an object")
        bad = sorted(set(defaults) - set(DEFAULT_KEYS))
        if bad:
            raise InputError(f"shot list {path}: unknown default {bad[0]!r} (known: {', '.join(DEFAULT_KEYS)})")
        data = data.get("shots")
    if not isinstance(data, list):
        raise InputError(f"shot list {path}: expected a list of shots")
    entries = []
    for index, item in enumerate(data, 1):
        where = f"{path} shot {index}"
        if isinstance(item, str):
            item = {"input": item}
        if not isinstance(item, dict):
            raise InputError(f"{where}: a shot is an input path or an object")
        entries.append((where, item))
    return entries, defaults


def _relative_to(base: str, value, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a path")
    value = os.path.expanduser(value)
    return value if os.path.isabs(value) else os.path.join(base, value)


def _int_option(entry: dict, key: str, default, where: str, minimum: int):
    value = entry.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {key!r} must be a whole number (got {value!r})")
    if value < minimum:
        raise InputError(f"{where}: {key!r} must be at least {minimum} (got {value})")
    return value


def _default_name(source: str, kind: str) -> str:
    if kind == "movie":
        return os.path.splitext(os.path.basename(source))[0]
    from ..io.sequence import parse_pattern

    pattern = parse_pattern(source)
    return pattern.name if pattern else os.path.basename(source)


def _make_names_unique(shots: list[Shot]) -> None:
    seen: dict[str, int] = {}
    for shot in shots:
        count = seen.get(shot.name, 0)
        seen[shot.name] = count + 1
        if count:
            shot.name = f"{shot.name}_{count + 1}"
            if shot.output_root is not None:
                shot.output_dir = os.path.join(shot.output_root, shot.name)
