"""Plate folders for farm tests: frame files on disk (planning only reads their names)."""

from pathlib import Path


def make_plate(folder: Path, frames, name: str = "plate", ext: str = "exr") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        (folder / f"{name}.{frame:04d}.{ext}").write_bytes(b"")
    return str(folder / f"{name}.####.{ext}")
