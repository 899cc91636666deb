"""Fixtures for the core tests: the test weights through RVMATTE_WEIGHTS, and a shared model."""
import pytest

from paths import TEST_WEIGHTS


@pytest.fixture(autouse=True)
def _offline_weights(monkeypatch, tmp_path_factory):
    """Every core test resolves the test weights and never reaches the network or the user cache."""
    monkeypatch.setenv("RVMATTE_WEIGHTS", str(TEST_WEIGHTS))
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("RVMATTE_OFFLINE", "1")


@pytest.fixture(scope="session")
def model():
    from rvmatte.weights import load_model

    return load_model("mobilenetv3", TEST_WEIGHTS, device="cpu")
