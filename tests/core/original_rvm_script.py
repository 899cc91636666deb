"""A script written for the original RVM (PeterL1n/RobustVideoMatting); only the imports changed.

    python original_rvm_script.py CHECKPOINT INPUT_FOLDER OUTPUT_FOLDER
"""
import sys

import torch

from rvmatte import MattingNetwork    # was: from model import MattingNetwork
from rvmatte import convert_video     # was: from inference import convert_video

checkpoint, input_source, out = sys.argv[1:4]

model = MattingNetwork(variant="mobilenetv3").eval()
model.load_state_dict(torch.load(checkpoint, map_location="cpu"))

convert_video(
    model,
    input_source=input_source,
    downsample_ratio=0.5,
    output_type="video",
    output_composition=f"{out}/com.mp4",
    output_alpha=f"{out}/pha.mp4",
    output_foreground=f"{out}/fgr.mp4",
    output_video_mbps=4,
    seq_chunk=4,
    num_workers=1,
    progress=False,
)
convert_video(
    model,
    input_source=input_source,
    downsample_ratio=0.5,
    output_type="png_sequence",
    output_composition=f"{out}/com",
    output_alpha=f"{out}/pha",
    output_foreground=f"{out}/fgr",
    seq_chunk=4,
    progress=False,
)
