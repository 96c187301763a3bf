"""The one error the installer raises: a failure the user reads as one line."""

from __future__ import annotations

from kshell import CommandError


class ToolError(CommandError):
    """A tool cannot be found, fetched, verified or installed.

    ``message`` is one line saying what failed and, where there is one, what to do.
    A :class:`kshell.CommandError`, so a handler may let it propagate.
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message, status)
