"""Errors that end a run with one readable line instead of a traceback."""


class RvmatteError(Exception):
    """Base of every error caused by the user's input, output or settings."""


class InputError(RvmatteError):
    """Bad, missing or unreadable input; the message names the file and frame."""


class OutputError(RvmatteError):
    """An output that cannot be written; the message names the path."""
