"""The log file: tracebacks of internal errors and of failing plugin hooks and completers.

Users see one line; the details go here (``kshell.log`` in the state directory), with
every secret value masked (:mod:`kshell.masking`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kshell import paths


def log_path() -> Path:
    return paths.state_dir() / "kshell.log"


def log_exception(
    where: str, exc: BaseException | None = None, mask: Callable[[str], str] | None = None
) -> Path:
    """Append ``exc``'s traceback (default: the one being handled) under a ``--- where``
    header; returns the log's path. Never raises: a log that cannot be written is skipped."""
    import traceback

    text = (
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if exc is not None
        else traceback.format_exc()
    )
    entry = f"--- {where}\n{text}\n"
    if mask is not None:
        entry = mask(entry)
    log = log_path()
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(entry)
    except OSError:
        pass
    return log
