"""The settings of a fine-tune, apart from the training code so the command line reads their
defaults without importing torch."""
from __future__ import annotations

from dataclasses import dataclass

from rvmatte.errors import InputError

TRAINABLE = {"decoder": ("decoder", "project_mat", "refiner"), "all": None}


@dataclass
class FinetuneConfig:
    """The settings of a fine-tune (recorded in the lineage sidecar); defaults: docs/training.md."""

    steps: int = 20
    lr: float = 1e-3
    train: str = "decoder"          # "decoder" (encoder frozen) or "all"
    clip: int = 3                   # frames per training clip
    distill: float = 0.5            # weight of the base-prediction loss on frames without keyframes
    recomposite: bool = True        # also train on the keyframes' person over other backgrounds
    seed: int = 0

    def check(self) -> None:
        if self.train not in TRAINABLE:
            raise InputError(f"--train {self.train!r}: expected {' or '.join(TRAINABLE)}")
        if self.steps < 0:
            raise InputError(f"--steps {self.steps}: must be 0 or more")
        if self.clip < 1:
            raise InputError(f"--clip {self.clip}: must be 1 or more")
        if not self.lr > 0:
            raise InputError(f"--lr {self.lr}: must be above 0")
        if self.distill < 0:
            raise InputError(f"--distill {self.distill}: must be 0 or more")
