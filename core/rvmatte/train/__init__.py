"""Training: the paper's losses and the per-shot fine-tune from a few corrected keyframes."""
