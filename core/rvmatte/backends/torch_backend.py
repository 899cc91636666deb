"""PyTorch eager (the reference): the loaded network runs as it is."""
from __future__ import annotations

NAME = "torch"
PRECISIONS = ("float32", "float16", "bfloat16")


def version() -> str:
    import torch

    return torch.__version__
