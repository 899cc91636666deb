"""Shared test fixtures: where ../shared lives and the test weights."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RVMATTE_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
DATA = SHARED / "data"
TEST_WEIGHTS = MODELS / "rvm_mobilenetv3_from_tfjs.pth"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"test data folder not found: {SHARED} (clone the project beside ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def weights_path(shared_dir) -> Path:
    return TEST_WEIGHTS
