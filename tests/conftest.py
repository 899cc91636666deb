"""Shared test fixtures: where ../shared lives and the test weights."""
from pathlib import Path

import pytest

from paths import SHARED, TEST_WEIGHTS


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"test data folder not found: {SHARED} (clone the project beside ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def weights_path(shared_dir) -> Path:
    return TEST_WEIGHTS
