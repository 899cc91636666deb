"""The worker's environment (rvmatte_hostkit.environment)."""
from rvmatte_hostkit import environment


def test_host_python_settings_are_dropped_and_the_rest_kept():
    env = environment.worker_environment({"PATH": "/bin", "OCIO": "/c.ocio", "PYTHONPATH": "/x",
                                          "PYTHONHOME": "/y", "VIRTUAL_ENV": "/v", "PYTHONUSERBASE": "/u"})
    assert env["PATH"] == "/bin" and env["OCIO"] == "/c.ocio"
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONUSERBASE"):
        assert name not in env
    assert env["PYTHONNOUSERSITE"] == "1" and env["PYTHONUTF8"] == "1" and env["PYTHONUNBUFFERED"] == "1"


def test_weights_and_offline_are_passed_on():
    env = environment.worker_environment({}, weights="/w.pth", online=False)
    assert env["RVMATTE_WEIGHTS"] == "/w.pth" and env["RVMATTE_OFFLINE"] == "1"
    assert "RVMATTE_OFFLINE" not in environment.worker_environment({}, online=True)


def test_the_base_is_not_changed():
    base = {"PYTHONPATH": "/x"}
    environment.worker_environment(base)
    assert base == {"PYTHONPATH": "/x"}


def test_the_cache_setting_reaches_the_worker_as_rvmatte_cache():
    assert environment.worker_environment({}, cache="/scratch/rv")["RVMATTE_CACHE"] == "/scratch/rv"
