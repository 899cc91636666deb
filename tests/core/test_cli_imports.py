"""The command line answers --help, --version and usage errors without importing torch (~1 s)."""
import os
import subprocess
import sys
from pathlib import Path

CORE = str(Path(__file__).resolve().parents[2] / "core")


def _modules_after(code: str) -> set:
    env = dict(os.environ, PYTHONPATH=CORE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_building_the_parser_imports_no_torch():
    assert "torch" not in _modules_after("from rvmatte.cli import build_parser; build_parser()")


def test_the_model_names_come_without_torch_and_the_network_on_demand():
    assert "torch" not in _modules_after("from rvmatte.model import REFINERS, VARIANTS")
    loaded = _modules_after("from rvmatte.model import MattingNetwork; assert MattingNetwork.__name__ == 'MattingNetwork'")
    assert "torch" in loaded


def test_the_finetune_settings_are_the_training_codes_own():
    from rvmatte.train import finetune, settings

    assert finetune.FinetuneConfig is settings.FinetuneConfig and finetune.TRAINABLE is settings.TRAINABLE
