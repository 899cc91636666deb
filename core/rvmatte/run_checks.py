"""Settings of `rvmatte run` checked before anything loads (the model takes seconds; a typo
should not)."""
from __future__ import annotations

import os
from typing import Optional

from rvmatte.errors import RvmatteError


def check_compression(name: Optional[str]) -> None:
    """``--compression``: an EXR compression OpenImageIO writes (``dwaa:45`` style levels allowed)."""
    from rvmatte.io.writing import EXR_COMPRESSIONS

    if name is not None and name.lower().split(":")[0] not in EXR_COMPRESSIONS:
        raise RvmatteError(f"--compression {name}: not an EXR compression (one of {', '.join(EXR_COMPRESSIONS)})")


def check_ocio_config(path: Optional[str]) -> None:
    """``--ocio-config``: a built-in ``ocio://`` config, or a readable text file (an OCIO config
    is YAML; a binary file is the wrong file, whatever OpenColorIO would make of it)."""
    if not path or path.startswith("ocio://"):
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError as error:
        raise RvmatteError(f"--ocio-config {path}: cannot read it ({error.strerror or error})") from None
    import codecs

    try:  # not final: the read may end inside a character
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text or not os.path.isfile(path):
        raise RvmatteError(f"--ocio-config {path}: not an OCIO config (not a text file)")
