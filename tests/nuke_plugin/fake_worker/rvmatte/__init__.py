"""A stand-in `rvmatte` for the plugin's tests: `python -m rvmatte run ...` speaks
the JSON progress protocol of docs/cli.md without a model. FAKE_RVMATTE_MODE:
ok (default), fail, crash, slow; FAKE_RVMATTE_LOG: a file to append argv to."""
__version__ = "0.0-fake"
