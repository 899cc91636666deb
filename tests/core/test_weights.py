"""Weights are found in the documented order, verified, and loaded without unpickling code."""
import functools
import hashlib
import http.server
import threading

import pytest
import torch

from paths import TEST_WEIGHTS
from rvmatte import weights
from rvmatte.weights import Release, WeightsError, load_model, resolve


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("RVMATTE_WEIGHTS", raising=False)


def test_explicit_path_wins_over_environment(tmp_path, monkeypatch):
    other = tmp_path / "other.pth"
    other.write_bytes(b"x")
    monkeypatch.setenv("RVMATTE_WEIGHTS", str(other))
    assert resolve("mobilenetv3", TEST_WEIGHTS) == TEST_WEIGHTS


def test_environment_variable_is_used_without_explicit_path():
    assert resolve("mobilenetv3") == TEST_WEIGHTS


def test_missing_explicit_file_is_named(tmp_path):
    with pytest.raises(WeightsError, match="nothere.pth"):
        resolve("mobilenetv3", tmp_path / "nothere.pth")


def test_offline_without_file_says_what_to_fetch_and_where(no_env, tmp_path, monkeypatch):
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsError) as err:
        resolve("resnet50", download=False)
    message = str(err.value)
    assert "rvm_resnet50.pth" in message and str(tmp_path / "cache" / "rvm_resnet50.pth") in message
    assert "--weights" in message and "RVMATTE_WEIGHTS" in message


def test_cached_file_is_used_when_its_sha256_matches(no_env, tmp_path, monkeypatch):
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path))
    data = TEST_WEIGHTS.read_bytes()
    (tmp_path / "rvm_mobilenetv3.pth").write_bytes(data)
    monkeypatch.setitem(weights.RELEASES, "mobilenetv3",
                        Release("rvm_mobilenetv3.pth", "http://127.0.0.1:9/x", hashlib.sha256(data).hexdigest()))
    assert resolve("mobilenetv3", download=False) == tmp_path / "rvm_mobilenetv3.pth"


def test_damaged_cached_file_is_refused(no_env, tmp_path, monkeypatch):
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path))
    (tmp_path / "rvm_mobilenetv3.pth").write_bytes(b"half a download")
    with pytest.raises(WeightsError, match="sha256"):
        resolve("mobilenetv3", download=False)


@pytest.fixture
def local_release(tmp_path, monkeypatch):
    """The test weights served over HTTP on the loopback interface, as the official release would be."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "rvm_mobilenetv3.pth").write_bytes(TEST_WEIGHTS.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/rvm_mobilenetv3.pth"
    yield url
    server.shutdown()


def test_download_fills_the_cache_after_checking_sha256(no_env, tmp_path, monkeypatch, local_release):
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path / "cache"))
    sha = hashlib.sha256(TEST_WEIGHTS.read_bytes()).hexdigest()
    monkeypatch.setitem(weights.RELEASES, "mobilenetv3", Release("rvm_mobilenetv3.pth", local_release, sha))
    path = resolve("mobilenetv3", download=True, progress=False)
    assert path == tmp_path / "cache" / "rvm_mobilenetv3.pth"
    assert path.read_bytes() == TEST_WEIGHTS.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["rvm_mobilenetv3.pth"]


def test_download_with_wrong_sha256_leaves_nothing_in_the_cache(no_env, tmp_path, monkeypatch, local_release):
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(weights.RELEASES, "mobilenetv3", Release("rvm_mobilenetv3.pth", local_release, "0" * 64))
    with pytest.raises(WeightsError, match="sha256"):
        resolve("mobilenetv3", download=True, progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_unreachable_server_gives_the_manual_download_hint(no_env, tmp_path, monkeypatch):
    monkeypatch.setenv("RVMATTE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(weights.RELEASES, "mobilenetv3",
                        Release("rvm_mobilenetv3.pth", "http://127.0.0.1:9/rvm_mobilenetv3.pth", "0" * 64))
    with pytest.raises(WeightsError, match="could not download.*put it at"):
        resolve("mobilenetv3", download=True, progress=False)


def test_corrupt_checkpoint_gets_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(TEST_WEIGHTS.read_bytes()[:100_000])
    with pytest.raises(WeightsError, match="bad.pth is not a readable PyTorch checkpoint"):
        load_model("mobilenetv3", bad, device="cpu")


def test_pickled_code_is_never_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('pwned')" % str(tmp_path / "pwned"),))

    evil = tmp_path / "evil.pth"
    torch.save({"backbone.features.0.0.weight": Boom()}, evil)
    with pytest.raises(WeightsError):
        load_model("mobilenetv3", evil, device="cpu")
    assert not (tmp_path / "pwned").exists()


def test_wrong_variant_file_names_the_right_variant():
    with pytest.raises(WeightsError, match="holds mobilenetv3 weights.*--variant mobilenetv3"):
        load_model("resnet50", TEST_WEIGHTS, device="cpu")


def test_load_model_returns_the_network_in_eval_mode_with_its_provenance():
    model = load_model("mobilenetv3", TEST_WEIGHTS, device="cpu")
    assert isinstance(model, torch.nn.Module) and not model.training
    assert model.weights_sha256 == hashlib.sha256(TEST_WEIGHTS.read_bytes()).hexdigest()
    fgr, pha, *rec = model(torch.rand(1, 3, 64, 64))
    assert pha.shape == (1, 1, 64, 64) and len(rec) == 4


def test_load_model_fast_guided_filter_ignores_the_dgf_keys():
    model = load_model("mobilenetv3", TEST_WEIGHTS, device="cpu", refiner="fast_guided_filter")
    assert model.refiner_name == "fast_guided_filter"


def test_load_model_in_bfloat16():
    model = load_model("mobilenetv3", TEST_WEIGHTS, device="cpu", precision="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16


def _load_error(path) -> str:
    with pytest.raises(WeightsError) as error:
        load_model("mobilenetv3", path, device="cpu")
    return str(error.value)


def test_a_checkpoint_holding_code_gets_our_sentence_not_torchs_advice(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("never",))

    evil = tmp_path / "evil.pth"
    torch.save({"backbone.features.0.0.weight": Boom()}, evil)
    message = _load_error(evil)
    assert "weights_only" not in message and "PyTorch 2.6" not in message
    assert message == (f"{evil} holds more than tensors (Python objects, possibly code): "
                       "it is not loaded, since unpickling it could run that code")


def test_a_file_that_is_no_checkpoint_gets_one_sentence_of_ours(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint at all")
    message = _load_error(bad)
    assert message == f"{bad} is not a readable PyTorch checkpoint (corrupt, truncated or not a PyTorch file)"
