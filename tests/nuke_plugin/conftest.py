"""The plugin's tests run against tests/nuke_plugin/fake_nuke (Nuke cannot be
installed here), with the plugin folder on sys.path as NUKE_PATH puts it in Nuke:
nuke_plugin/ staged as it ships, the host kit inside (staged_plugin.py)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from staged_plugin import PLUGIN  # noqa: E402

FAKE_WORKER = os.path.join(HERE, "fake_worker")
for path in (os.path.join(HERE, "fake_nuke"), PLUGIN):
    if path not in sys.path:
        sys.path.insert(0, path)

import nuke  # noqa: E402  (the fake)


@pytest.fixture(autouse=True)
def fresh_script(tmp_path, monkeypatch):
    """An empty script, GUI up, its own preferences file, no OCIO/worker overrides."""
    nuke._reset()
    monkeypatch.setenv("RVMATTE_NUKE_PREFS", str(tmp_path / "prefs" / "rvmatte.json"))
    for name in ("OCIO", "RVMATTE_PYTHON", "FAKE_RVMATTE_MODE", "FAKE_RVMATTE_LOG"):
        monkeypatch.delenv(name, raising=False)
    yield
    assert nuke._fake.context == [nuke._fake.root], "a Group was left open (begin without end)"


@pytest.fixture
def saved_script(tmp_path):
    """The script saved as <tmp>/shot/comp.nk."""
    (tmp_path / "shot").mkdir()
    nuke.root()["name"].setValue(str(tmp_path / "shot" / "comp.nk"))
    return tmp_path / "shot"


@pytest.fixture
def fake_worker(tmp_path, monkeypatch):
    """Preferences point at this interpreter, which imports the fake `rvmatte`.
    Returns the log file of the worker's command lines."""
    from rvmatte_nuke import settings
    from nuke_helpers import fake_interpreter
    settings.save(settings.Preferences(python=fake_interpreter(tmp_path)))
    log = tmp_path / "worker_argv.jsonl"
    monkeypatch.setenv("FAKE_RVMATTE_LOG", str(log))
    return log
