"""The preferences panel, offscreen, on whichever Qt binding this interpreter
has: PySide6 in the core's .venv, PySide2 (Debian) under /usr/bin/python3.
With RVMATTE_PANEL_SCREENSHOT set, the panel is also saved there as a PNG."""
import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
qt = pytest.importorskip("rvmatte_nuke.qt", reason="no PySide6 or PySide2 in this interpreter")
from rvmatte_nuke import panel, settings  # noqa: E402

FAKE_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_worker")


@pytest.fixture(scope="module")
def app():
    return qt.QtWidgets.QApplication.instance() or qt.QtWidgets.QApplication([])


def test_panel_uses_the_binding_this_python_has(app):
    expected = "PySide6" if "PySide6" in sys.modules else "PySide2"
    assert qt.QT_BINDING == expected
    assert ("PySide2" if expected == "PySide6" else "PySide6") not in sys.modules


def test_panel_shows_the_saved_preferences(app):
    settings.save(settings.Preferences(python="/opt/rvm/bin/python", weights="/w/rvm.pth", device="cuda"))
    widget = panel.PreferencesPanel()
    assert widget.python_edit.text() == "/opt/rvm/bin/python"
    assert widget.weights_edit.text() == "/w/rvm.pth"
    assert widget.device_combo.currentText() == "cuda"


def test_save_writes_what_was_typed(app):
    widget = panel.PreferencesPanel()
    widget.python_edit.setText(" /usr/bin/python3 ")
    widget.device_combo.setCurrentIndex(widget.device_combo.findText("cpu"))
    saved = []
    widget.saved.connect(lambda: saved.append(True))
    widget.save_button.click()
    assert settings.load() == settings.Preferences(python="/usr/bin/python3", weights="", device="cpu")
    assert saved == [True]


def test_check_worker_reports_the_workers_version(app, tmp_path):
    from nuke_helpers import fake_interpreter

    widget = panel.PreferencesPanel()
    widget.python_edit.setText(fake_interpreter(tmp_path))
    widget.check_button.click()
    assert widget.status_label.text() == "rvmatte 0.0-fake is ready."
    assert widget.status_label.styleSheet() == panel.OK_STYLE


def test_check_worker_names_a_missing_interpreter(app, tmp_path):
    widget = panel.PreferencesPanel()
    widget.python_edit.setText(str(tmp_path / "nope" / "python"))
    assert widget.check_worker() is False
    assert "cannot run" in widget.status_label.text() and "nope" in widget.status_label.text()
    assert widget.status_label.styleSheet() == panel.ERROR_STYLE


def test_screenshot_of_the_panel(app, monkeypatch, tmp_path):
    target = os.environ.get("RVMATTE_PANEL_SCREENSHOT") or str(tmp_path / "nuke_panel.png")
    monkeypatch.setenv("PYTHONPATH", FAKE_WORKER)
    settings.save(settings.Preferences(python=sys.executable, device="cuda"))
    widget = panel.PreferencesPanel()
    widget.python_edit.setText("/opt/rvmatte/.venv/bin/python")
    widget.weights_edit.setText("/opt/rvmatte/weights/rvm_mobilenetv3.pth")
    widget.show_status(True, "rvmatte 0.1.0 is ready.")
    widget.path_label.setText("Saved in ~/.nuke/rvmatte.json")
    widget.resize(620, widget.sizeHint().height())
    widget.show()
    app.processEvents()
    image = widget.grab()
    assert image.width() >= 600 and image.height() > 100
    assert image.save(target)
    assert os.path.getsize(target) > 1000
