"""RVMatte for Nuke: an RVM matte node that runs the `rvmatte` worker outside Nuke.

Modules (none imports Qt or torch; `panel` and `qt` are the GUI-only ones):
  node        the RVMatte Group: knobs, stock-node internals, version, upgrade
  jobs        what one Generate will do, read from the node and the script
  read_input  when an upstream Read's files can be used without a precomp
  precomp     render the upstream input to EXR with a Write and nuke.execute
  command     the worker's command line (built by the host kit)
  runner      the worker process (the host kit's) in a background thread, progress and cancel
  wiring      results back onto the node: internal Reads, status
  staleness   hash of upstream + settings, the stale flag
  versions    version folders of the output directory (rvmatte run --versions), Resume
  generate    the Generate button
  farm        a farm job for selected nodes
  settings    preferences: worker interpreter, weights, default device
  sequences   Nuke's file patterns (%V, file knobs) over the host kit's
  rvmatte_hostkit  the host kit (sequences, progress, command, environment, process),
              put here by tools/build_release.py; never edited here (docs/hostkit.md)
"""
__version__ = "0.1.0"

try:
    from . import rvmatte_hostkit  # noqa: F401
except ImportError:
    raise ImportError("rvmatte_nuke: its host kit (rvmatte_nuke/rvmatte_hostkit) is missing: this is the "
                      "repository's source folder, not the plugin. Build it with `python3 tools/build_release.py "
                      "--only nuke` and put the unpacked rvmatte_nuke_plugin folder on NUKE_PATH (docs/nuke.md)")
