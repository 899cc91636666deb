"""The settings in effect and their source (rvmatte_hostkit.settings): environment, site config, user, default."""
import os

import pytest

from rvmatte_hostkit import settings
from rvmatte_hostkit.settings import SiteConfigError


def site_config(tmp_path, text):
    path = tmp_path / "rvmatte.ini"
    path.write_text(text)
    return str(path)


def test_with_nothing_set_the_defaults_apply():
    effective = settings.resolve({}, environ={})
    assert effective["device"] == "auto" and effective["python"] == ""
    assert effective.values["device"].source == "default" and effective.install_allowed


def test_the_users_preferences_apply_when_nothing_overrides_them():
    effective = settings.resolve({"python": "/me/bin/python", "device": "cpu"}, environ={})
    assert (effective["python"], effective.values["python"].source) == ("/me/bin/python", "user")
    assert settings.describe(effective.values["device"]) == "from the preferences"


def test_rvmatte_python_overrides_the_preference_and_says_so():
    effective = settings.resolve({"python": "/me/bin/python"}, environ={"RVMATTE_PYTHON": "/studio/bin/python"})
    assert effective["python"] == "/studio/bin/python"
    assert settings.describe(effective.values["python"]) == "from RVMATTE_PYTHON"
    assert settings.overridden(effective, "python")


def test_the_site_config_overrides_the_preferences(tmp_path):
    path = site_config(tmp_path, "[rvmatte]\npython = /studio/bin/python\ndevice = cuda\ncache = /scratch/rv\n")
    effective = settings.resolve({"python": "/me/bin/python", "device": "cpu", "weights": "/me/rvm.pth"},
                                 environ={"RVMATTE_CONFIG": path})
    assert (effective["python"], effective["device"], effective["cache"]) == ("/studio/bin/python", "cuda", "/scratch/rv")
    assert effective["weights"] == "/me/rvm.pth"
    assert settings.describe(effective.values["device"]) == "from the site config %s" % path


def test_an_environment_variable_wins_over_the_site_config(tmp_path):
    path = site_config(tmp_path, "[rvmatte]\ndevice = cuda\n")
    effective = settings.resolve({}, environ={"RVMATTE_CONFIG": path, "RVMATTE_DEVICE": "cpu"})
    assert (effective["device"], effective.values["device"].source) == ("cpu", "env")


def test_relative_paths_in_the_site_config_are_relative_to_its_folder(tmp_path):
    path = site_config(tmp_path, "[rvmatte]\npython = envs/e1/bin/python\nweights = weights/rvm.pth\n")
    effective = settings.resolve({}, environ={"RVMATTE_CONFIG": path})
    assert effective["python"] == os.path.join(str(tmp_path), "envs", "e1", "bin", "python")
    assert effective["weights"] == os.path.join(str(tmp_path), "weights", "rvm.pth")


@pytest.mark.parametrize("value", ["0", "no", "False", "off"])
def test_rvmatte_allow_install_0_hides_install(value):
    effective = settings.resolve({}, environ={"RVMATTE_ALLOW_INSTALL": value})
    assert not effective.install_allowed and effective.install.source == "env"


def test_the_site_config_can_forbid_installs(tmp_path):
    path = site_config(tmp_path, "[rvmatte]\nallow_install = no\n")
    assert not settings.resolve({}, environ={"RVMATTE_CONFIG": path}).install_allowed


def test_an_unknown_key_names_the_file_and_the_key(tmp_path):
    path = site_config(tmp_path, "[rvmatte]\npyhton = /x\n")
    with pytest.raises(SiteConfigError, match="rvmatte.ini: unknown setting 'pyhton'"):
        settings.resolve({}, environ={"RVMATTE_CONFIG": path})


def test_a_missing_site_config_names_the_variable(tmp_path):
    with pytest.raises(SiteConfigError, match="nope.ini \\(RVMATTE_CONFIG\\) cannot be read"):
        settings.resolve({}, environ={"RVMATTE_CONFIG": str(tmp_path / "nope.ini")})


def test_a_site_config_without_the_section_is_refused(tmp_path):
    path = site_config(tmp_path, "[other]\npython = /x\n")
    with pytest.raises(SiteConfigError, match="no \\[rvmatte\\] section"):
        settings.resolve({}, environ={"RVMATTE_CONFIG": path})


def test_a_bad_allow_install_value_is_refused():
    with pytest.raises(SiteConfigError, match="RVMATTE_ALLOW_INSTALL: allow_install must be yes or no"):
        settings.resolve({}, environ={"RVMATTE_ALLOW_INSTALL": "maybe"})


def test_an_engine_folder_as_python_means_the_engine_in_use_there(tmp_path):
    from rvmatte_hostkit import engine

    engine.activate(str(tmp_path), {"python": "/studio/rvmatte/envs/s2/bin/python", "folder": "/studio/rvmatte/envs/s2"})
    path = site_config(tmp_path, "[rvmatte]\npython = .\n")
    effective = settings.resolve({}, environ={"RVMATTE_CONFIG": path})
    assert effective["python"] == "/studio/rvmatte/envs/s2/bin/python"
    assert settings.resolve({}, environ={"RVMATTE_PYTHON": str(tmp_path)})["python"] == effective["python"]
