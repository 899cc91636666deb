"""Fixtures for the io tests."""

import pytest
from io_files import make_sequence


@pytest.fixture
def exr_shot(tmp_path):
    """A 1001-based three-frame float EXR sequence."""
    return make_sequence(tmp_path / "shot")
