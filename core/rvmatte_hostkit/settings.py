"""The settings a host uses, and where each came from: environment, site config, user, default.

Studios deploy centrally: a TD installs the engine once (``rvmatte-engine install --target
/studio/rvmatte``) and points every seat at it with environment variables or a site config
file, which win over what an artist set in the preferences::

    RVMATTE_PYTHON=/studio/rvmatte                        the worker interpreter, or an engine folder
    RVMATTE_WEIGHTS, RVMATTE_DEVICE, RVMATTE_CACHE         weights file, device, weights cache
    RVMATTE_CONFIG=/studio/rvmatte.ini                     the site config (below)
    RVMATTE_ALLOW_INSTALL=0                                the hosts hide Install engine

The site config is an INI file with one ``[rvmatte]`` section; relative paths are relative to
the file's folder, so a config beside a shared engine stays valid wherever the share is mounted::

    [rvmatte]
    python = .
    weights = weights/rvm_mobilenetv3.pth
    device = cuda
    cache = /scratch/rvmatte
    allow_install = no

A ``python`` that names an engine folder (``rvmatte-engine install --target``; it holds
``engine.json``) means the engine in use there, so a reinstall needs no config change.

Order: an environment variable, then the site config, then the user's preference, then the
default. ``resolve`` is pure: the hosts show each value with ``describe`` ("from the site config
/studio/rvmatte.ini"), so an artist sees why a preference has no effect.
"""

import configparser
import os
from collections import namedtuple

KEYS = ("python", "weights", "device", "cache")
ENVIRONMENT = {"python": "RVMATTE_PYTHON", "weights": "RVMATTE_WEIGHTS", "device": "RVMATTE_DEVICE",
               "cache": "RVMATTE_CACHE"}
PATHS = ("python", "weights", "cache")
DEFAULTS = {"python": "", "weights": "", "device": "auto", "cache": ""}
CONFIG_VARIABLE = "RVMATTE_CONFIG"
ALLOW_VARIABLE = "RVMATTE_ALLOW_INSTALL"
SECTION = "rvmatte"
_FALSE = ("0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")

Setting = namedtuple("Setting", "name value source where")
Setting.__doc__ = """source: env, site, user or default; where: the variable or file it came from ("" for user/default)."""


class SiteConfigError(ValueError):
    """The site config cannot be used; the message names the file and what is wrong in it."""


def _flag(text, where):
    value = text.strip().lower()
    if value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise SiteConfigError("%s: allow_install must be yes or no, not %r" % (where, text))


def read_site_config(path):
    """The ``[rvmatte]`` section of a site config: {key: value}, paths made absolute from the file's folder."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle, path)
    except OSError as exc:
        raise SiteConfigError("site config %s (%s) cannot be read: %s" % (path, CONFIG_VARIABLE, exc.strerror or exc))
    except configparser.Error as exc:
        raise SiteConfigError("site config %s is not an INI file: %s" % (path, str(exc).splitlines()[0]))
    if not parser.has_section(SECTION):
        raise SiteConfigError("site config %s has no [%s] section" % (path, SECTION))
    folder = os.path.dirname(os.path.abspath(path))
    values = {}
    for key, value in parser.items(SECTION):
        if key not in KEYS and key != "allow_install":
            raise SiteConfigError("site config %s: unknown setting %r (known: %s, allow_install)"
                                  % (path, key, ", ".join(KEYS)))
        value = value.strip()
        if key in PATHS and value:
            value = os.path.normpath(os.path.join(folder, os.path.expanduser(value)))
        values[key] = value
    if "allow_install" in values:
        values["allow_install"] = _flag(values["allow_install"], "site config %s" % path)
    return values


class Effective(object):
    """The settings in effect: ``values[key]`` is a Setting; ``install_allowed`` with its own Setting."""

    def __init__(self, values, install):
        self.values = values
        self.install = install

    def __getitem__(self, key):
        return self.values[key].value

    @property
    def install_allowed(self):
        return self.install.value


def resolve(user, environ=None, site=None):
    """The effective settings from the user's preferences ``user`` ({key: value}, "" = unset).

    ``environ`` defaults to os.environ; ``site`` is the site config's values when already read
    (else the file ``RVMATTE_CONFIG`` names is read; SiteConfigError when it cannot be).
    """
    environ = os.environ if environ is None else environ
    config = environ.get(CONFIG_VARIABLE, "").strip()
    if site is None:
        site = read_site_config(config) if config else {}
    values = {}
    for key in KEYS:
        variable = ENVIRONMENT[key]
        if environ.get(variable, "").strip():
            values[key] = Setting(key, environ[variable].strip(), "env", variable)
        elif site.get(key):
            values[key] = Setting(key, site[key], "site", config)
        elif (user or {}).get(key):
            values[key] = Setting(key, user[key], "user", "")
        else:
            values[key] = Setting(key, DEFAULTS[key], "default", "")
    values["python"] = values["python"]._replace(value=engine_python(values["python"].value))
    allow = environ.get(ALLOW_VARIABLE, "").strip()
    if allow:
        install = Setting("allow_install", _flag(allow, ALLOW_VARIABLE), "env", ALLOW_VARIABLE)
    elif "allow_install" in site:
        install = Setting("allow_install", site["allow_install"], "site", config)
    else:
        install = Setting("allow_install", True, "default", "")
    return Effective(values, install)


def engine_python(path):
    """The interpreter of the engine in use when ``path`` is an engine folder; else ``path`` as it is."""
    if path and os.path.isfile(os.path.join(path, "engine.json")):
        from .engine import current_engine
        record = current_engine(path)
        if record:
            return record["python"]
    return path


def describe(setting):
    """Where a value came from, in words: ``from RVMATTE_PYTHON``, ``from the site config /s/rvmatte.ini``."""
    if setting.source == "env":
        return "from %s" % setting.where
    if setting.source == "site":
        return "from the site config %s" % setting.where
    if setting.source == "user":
        return "from the preferences"
    return "default"


def overridden(effective, key):
    """True when the user's preference for ``key`` has no effect (an environment variable or the site sets it)."""
    return effective.values[key].source in ("env", "site")
