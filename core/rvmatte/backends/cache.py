"""The on-disk cache of exported (and compiled) models.

One entry per (weights sha256, variant, refiner, frame size, downsample ratio, precision,
backend + its version, rvmatte and torch versions, the export's ``EXPORT_VERSION``): a
static-shape export is only valid for exactly that input. Entries are written atomically (a
temp file named for this host and process, then a rename), so two farm tasks filling the same
shared cache never see half a file. An entry that fails to load is deleted and rebuilt by the backend, never fatal.

Where: ``$RVMATTE_CACHE_DIR`` (else ``~/.cache/rvmatte/compiled``). A farm may also name a
read-only shared cache in ``$RVMATTE_SHARED_CACHE_DIR``: entries found there are used, new
ones are written to the per-host writable folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from typing import Callable, Optional

DEFAULT_DIR = os.path.join("~", ".cache", "rvmatte", "compiled")


def cache_dir() -> str:
    return os.path.abspath(os.path.expanduser(os.environ.get("RVMATTE_CACHE_DIR") or DEFAULT_DIR))


def shared_cache_dir() -> Optional[str]:
    shared = os.environ.get("RVMATTE_SHARED_CACHE_DIR")
    return os.path.abspath(os.path.expanduser(shared)) if shared else None


def entry_key(fields: dict) -> str:
    """A short stable name for an entry: the sha256 of its fields as sorted JSON."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def lookup(name: str) -> Optional[str]:
    """The path of a cached file ``name`` (writable cache first, then the shared one), or None."""
    for folder in (cache_dir(), shared_cache_dir()):
        if folder and os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def store(name: str, write: Callable[[str], None]) -> str:
    """``write(temp)`` a new entry, then rename it into the writable cache; returns its path."""
    folder = cache_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    base, extension = os.path.splitext(name)
    host = socket.gethostname().replace(os.sep, "_") or "host"
    temp = os.path.join(folder, f".{base}.tmp-{host}-{os.getpid()}-{secrets.token_hex(4)}{extension}")
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return path


def discard(path: str) -> None:
    """Remove a corrupt entry from the writable cache (a shared read-only one is left alone)."""
    if os.path.dirname(os.path.abspath(path)) == cache_dir():
        try:
            os.remove(path)
        except OSError:
            pass
