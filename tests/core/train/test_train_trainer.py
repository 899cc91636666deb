"""Training one stage: the loss falls, checkpoints load strictly and resume exactly, DDP matches one process."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from paths import REPO
from rvmatte.errors import InputError, RvmatteError
from rvmatte.model import MattingNetwork
from rvmatte.train.stages import load_schedule
from rvmatte.train.train_command import _datasets
from rvmatte.train.trainer import Trainer, freeze_batchnorm
from tiny_training import make_sets, write_config

ENV = {**os.environ, "PYTHONPATH": str(REPO / "core")}


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    return make_sets(tmp_path_factory.mktemp("sets"))


def _trainer(tmp_path, sets, stage="1", batch=2, segmentation=True, steps=4, **kw):
    schedule = load_schedule(str(write_config(tmp_path / "tiny.toml", sets, batch, segmentation)))
    torch.manual_seed(0)
    return Trainer(MattingNetwork("mobilenetv3"), schedule, schedule.stage(stage), _datasets(schedule.data),
                   str(tmp_path / "out"), steps=steps, **kw)


def _rvmatte(*args, **kw):
    return subprocess.run([sys.executable, "-m", "rvmatte", *map(str, args)], env=ENV, capture_output=True,
                          text=True, **kw)


def test_training_lowers_the_loss_on_a_fixed_batch(tmp_path, sets):
    trainer = _trainer(tmp_path, sets, segmentation=False, steps=8)
    with torch.no_grad():
        before = float(trainer._loss("matting"))            # the batch of step 0
    trainer.run()
    trainer.step = 0
    with torch.no_grad():
        after = float(trainer._loss("matting"))
    assert after < 0.9 * before


@pytest.mark.parametrize("stage", ["2", "3", "4"])
def test_every_stage_trains_a_step_with_its_data(tmp_path, sets, stage):
    trainer = _trainer(tmp_path, sets, stage=stage, steps=1)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    losses = trainer.run()
    assert set(losses) == {"matting", "image_segmentation"}
    changed = {k.split(".")[0] for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])}
    assert {"backbone", "decoder"} <= changed
    assert ("refiner" in changed) == (stage in ("3", "4"))       # only the high-res pass uses the refiner


def test_batchnorm_statistics_stay_as_loaded(tmp_path, sets):
    trainer = _trainer(tmp_path, sets, segmentation=False, steps=1)
    stats = {k: v.clone() for k, v in trainer.model.state_dict().items() if "running_" in k}
    trainer.run()
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in stats.items())


def test_checkpoint_state_loads_with_weights_only(tmp_path, sets):
    trainer = _trainer(tmp_path, sets, segmentation=False, steps=1)
    trainer.run()
    state = torch.load(trainer.state_path, weights_only=True)
    assert state["step"] == 1 and state["stage"] == "1" and "state" in state["optimizer"]


def test_checkpoint_weights_load_strictly_in_rvmatte_run(tmp_path, sets):
    trainer = _trainer(tmp_path, sets, segmentation=False, steps=1)
    trainer.run()
    frames = sets / "vm" / "fgr" / "0000" / "#####.png"
    done = _rvmatte("run", frames, "--frames", "0-1", "--weights", tmp_path / "out" / "weights.pth",
                    "-o", tmp_path / "run", "--progress", "none", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "run").glob("*.exr"))) >= 2


def test_missing_segmentation_data_is_one_line_naming_the_set(tmp_path, sets):
    schedule = load_schedule(str(write_config(tmp_path / "tiny.toml", sets)))
    data = _datasets({k: v for k, v in schedule.data.items() if k != "youtubevis"})
    with pytest.raises(InputError, match=r"stage 1 needs the video_segmentation \(youtubevis\) data set"):
        Trainer(MattingNetwork("mobilenetv3"), schedule, schedule.stage("1"), data, str(tmp_path / "out"))


def test_out_of_gpu_memory_is_one_line_and_keeps_the_last_checkpoint(tmp_path, sets):
    trainer = _trainer(tmp_path, sets, segmentation=False, steps=2, checkpoint_every=1)
    calls = []

    def fail_on_second_step(module, inputs):
        calls.append(1)
        if len(calls) == 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    trainer.model.register_forward_pre_hook(fail_on_second_step)
    with pytest.raises(RvmatteError) as error:
        trainer.run()
    message = str(error.value)
    assert "out of GPU memory in stage 1 at step 2" in message and "lower batch_size" in message
    assert torch.load(trainer.state_path, weights_only=True)["step"] == 1
    assert not [p for p in os.listdir(tmp_path / "out") if ".tmp-" in p]


def test_bad_dataset_layout_on_the_command_line_is_one_line(tmp_path):
    (tmp_path / "vm").mkdir()
    done = _rvmatte("train", "--stage", "1", "-o", tmp_path / "out", "--videomatte", tmp_path / "vm")
    assert done.returncode == 1 and "missing folder" in done.stderr and str(tmp_path / "vm" / "fgr") in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def _train_cli(tmp_path, config, out, steps, **kw):
    return [sys.executable, "-m", "rvmatte", "train", "--stage", "1", "--config", str(config), "-o", str(out),
            "--steps", str(steps), "--checkpoint-every", "1", "--progress", "json", "--device", "cpu"]


def test_resume_after_sigkill_gives_the_weights_of_an_uninterrupted_run(tmp_path, sets):
    config = write_config(tmp_path / "tiny.toml", sets)
    whole = subprocess.run(_train_cli(tmp_path, config, tmp_path / "whole", 4), env=ENV, capture_output=True,
                           text=True)
    assert whole.returncode == 0, whole.stderr
    killed = subprocess.Popen(_train_cli(tmp_path, config, tmp_path / "killed", 4), env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in killed.stdout:
        if json.loads(line) == {"event": "checkpoint", "step": 2}:
            killed.send_signal(signal.SIGKILL)
            break
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert torch.load(tmp_path / "killed" / "state.pt", weights_only=True)["step"] == 2
    resumed = subprocess.run(_train_cli(tmp_path, config, tmp_path / "killed", 4), env=ENV, capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert '"event": "resumed", "step": 2' in resumed.stdout
    a = torch.load(tmp_path / "whole" / "weights.pth", weights_only=True)
    b = torch.load(tmp_path / "killed" / "weights.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = (tmp_path / "killed" / "losses.csv").read_text().splitlines()
    assert rows == (tmp_path / "whole" / "losses.csv").read_text().splitlines()


def _gradients(trainer):
    trainer.model.train()
    freeze_batchnorm(trainer.model)
    trainer.optimizer.zero_grad()
    trainer._loss("matting").backward()
    return {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}


def _ddp_worker(rank, world, port, folder, sets):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from pathlib import Path

    trainer = _trainer(Path(folder) / f"r{rank}", Path(sets), batch=1, segmentation=False)
    grads = _gradients(trainer)
    torch.save(grads, Path(folder) / f"grads{rank}.pt")
    import torch.distributed as dist

    dist.destroy_process_group()


def test_two_process_ddp_step_equals_one_process_with_the_same_global_batch(tmp_path, sets):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for rank in (0, 1):
        (tmp_path / f"r{rank}").mkdir()
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path), str(sets)), nprocs=2, join=True)
    ddp = torch.load(tmp_path / "grads0.pt", weights_only=True)
    other = torch.load(tmp_path / "grads1.pt", weights_only=True)
    single = _gradients(_trainer(tmp_path, sets, batch=2, segmentation=False))
    assert ddp.keys() == single.keys()
    for name, grad in single.items():
        assert torch.equal(ddp[name], other[name])                   # every process holds the averaged gradient
        scale = grad.abs().max().item() + 1e-12
        assert (ddp[name] - grad).abs().max().item() <= 1e-4 * scale + 1e-7, name


def test_losses_are_logged_for_tensorboard(tmp_path, sets):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer = _trainer(tmp_path, sets, steps=2)
    trainer.run()
    events = EventAccumulator(str(tmp_path / "out" / "tensorboard"))
    events.Reload()
    assert {"loss/matting", "loss/image_segmentation", "loss/video_segmentation"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("loss/matting")] == [1, 2]
