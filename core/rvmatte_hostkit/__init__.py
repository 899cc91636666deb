"""What every rvmatte front end needs, in pure Python 3.7+ with no third-party imports.

The core uses it for its sequence patterns; the Blender extension and the Nuke plugin
carry a copy of it inside their own packages (the release build puts it there, see
docs/hostkit.md), so every module here imports its siblings relatively.

  sequences    frame-number patterns (``####``, ``%04d``, ``$F4``, ``@@@@``), frames on disk
  sparse       sequences present on some frames only (keyframes, masks), frame ranges as text
  progress     the worker's ``--progress json`` lines read into typed messages
  command      the ``rvmatte run`` command line and the worker interpreter
  environment  the environment the worker process starts with
  process      one worker process: reader threads, non-blocking poll, cancel, stop
  people       targets and people: a viewer click as --target-point, person names, the people EXR
  settings     the settings in effect and their source: environment, site config, user, default
  torch_build  which PyTorch build this machine gets (OS, architecture, nvidia-smi output)
  engine       ``rvmatte-engine install``: a private environment with rvmatte, torch and weights
  versions     the version folders of ``rvmatte run --versions``: current, resumable
  plate        a plate's id for ``rvmatte run --input-id``: its path and its files' sizes and times
"""

__version__ = "0.1.0"
