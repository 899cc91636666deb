"""Errors that end a run with one readable line instead of a traceback."""


class RvmatteError(Exception):
    """Base of every error caused by the user's input, output or settings."""


class InputError(RvmatteError):
    """Bad, missing or unreadable input; the message names the file and frame."""


class OutputError(RvmatteError):
    """An output that cannot be written; the message names the path."""


def one_line(text: object) -> str:
    """A library's error text folded onto one line (messages must stay single lines)."""
    return " ".join(str(text).split()) or "unknown error"
