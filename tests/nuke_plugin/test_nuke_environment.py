"""The worker starts free of Nuke's Python and talks UTF-8; a venv folder is not an interpreter."""
import json
import sys

from rvmatte_nuke import runner, settings

REPORT_ENV = ("import json, os; print(json.dumps({'event': 'warning', 'message': json.dumps({"
              "'pythonpath': os.environ.get('PYTHONPATH'), 'home': os.environ.get('PYTHONHOME'),"
              " 'nousersite': os.environ.get('PYTHONNOUSERSITE')})}))")


def test_worker_gets_neither_nukes_pythonpath_nor_pythonhome(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "studio_py37_packages"))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "nuke_python"))
    events = []
    outcome = runner.run_worker([sys.executable, "-c", REPORT_ENV], events.append)
    assert outcome.status == "done", outcome.error
    seen = json.loads(events[0].message)
    assert seen["pythonpath"] is None and seen["home"] is None
    assert seen["nousersite"] == "1"


def test_worker_output_is_read_as_utf8_whatever_the_locale(monkeypatch):
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("LANG", "C")
    script = ("import sys; sys.stdout.buffer.write('{\"event\": \"error\", \"message\": \"plate \\u00e9t\\u00e9 "
              "\\u2014 missing\"}\\n'.encode('utf-8')); sys.exit(1)")
    outcome = runner.run_worker([sys.executable, "-c", script])
    assert outcome.status == "failed"
    assert "plate été — missing" in outcome.error


def test_check_worker_on_a_venv_folder_says_choose_the_python_inside(tmp_path):
    venv = tmp_path / "rvmatte-env"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    ok, line = settings.check_worker(str(venv))
    assert not ok
    assert "choose the Python inside the environment, not the folder" in line
    assert str(venv / "bin" / "python") in line


def test_check_worker_without_an_interpreter_says_what_to_choose():
    ok, line = settings.check_worker("")
    assert not ok and "choose the Python" in line
