"""Where a frame file's result key is kept, and how it is read back.

EXR files carry it in their header (``rvmatte/result_key``, with the fields it was
made of as JSON in ``rvmatte/result_fields``). Other formats (PNG, TIFF, JPEG) get a
sidecar per frame, ``<dir>/.rvmatte/<file name>.json``: one file per frame, written
atomically, so concurrent farm chunks never lose each other's updates. The sidecar is
removed before its frame is rewritten and written after it, so a frame never sits
beside a sidecar that describes another run.
"""
from __future__ import annotations

import json
import os
from typing import Optional, Tuple

KEY_ATTRIBUTE = "rvmatte/result_key"
FIELDS_ATTRIBUTE = "rvmatte/result_fields"
SIDECAR_FOLDER = ".rvmatte"


def has_header_room(path: str) -> bool:
    return path.lower().endswith(".exr")


def sidecar_path(path: str) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, SIDECAR_FOLDER, name + ".json")


def remove_sidecar(path: str) -> None:
    try:
        os.remove(sidecar_path(path))
    except OSError:
        pass


def write_sidecar(path: str, key: str, fields: dict) -> None:
    from .writing import _write_bytes_atomically

    text = json.dumps({"file": os.path.basename(path), "result_key": key, "fields": fields}, sort_keys=True)
    _write_bytes_atomically(sidecar_path(path), text.encode("utf-8"))


def stored_result(path: str) -> Tuple[Optional[str], Optional[dict]]:
    """(key, fields) recorded with a frame file; (None, None) when it has none."""
    if has_header_room(path):
        import OpenImageIO as oiio

        inp = oiio.ImageInput.open(path)
        if inp is None:
            oiio.geterror()
            return None, None
        try:
            spec = inp.spec()
            key = spec.get_string_attribute(KEY_ATTRIBUTE, "") or None
            text = spec.get_string_attribute(FIELDS_ATTRIBUTE, "")
        finally:
            inp.close()
        return key, _fields(text)
    try:
        with open(sidecar_path(path), encoding="utf-8") as stream:
            data = json.load(stream)
        return data.get("result_key") or None, data.get("fields") if isinstance(data.get("fields"), dict) else None
    except (OSError, ValueError, AttributeError):
        return None, None


def _fields(text: str) -> Optional[dict]:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
