"""Fixtures for farm tests: plates as frame files on disk."""

import pytest
from farm_plates import make_plate


@pytest.fixture
def plate(tmp_path) -> str:
    """sh010: frames 1001-1100."""
    return make_plate(tmp_path / "shots" / "sh010", range(1001, 1101))


@pytest.fixture
def holed_plate(tmp_path) -> str:
    """sh020: frames 1001-1050 and 1060-1100 (1051-1059 were never delivered)."""
    return make_plate(tmp_path / "shots" / "sh020", [*range(1001, 1051), *range(1060, 1101)])
