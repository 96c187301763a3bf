"""Secrets never show: the one function that hides them, wherever text is printed or stored.

A secret is the value of a setting declared ``secret=True``, whatever carries it: the
setting's own environment variable, another variable a plugin builds from it, a tool's
leading flag (``--token=VALUE``), an error line where a tool echoes it. So masking is
by value, not by name: every occurrence of a known secret value becomes ``****``.
``env``, ``context``, the toolbar, history, the log, error lines and dry-run echoes all
call :func:`mask_secrets`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MASK = "****"


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each value in ``secrets`` replaced by ``****``.

    Longer values are replaced first, so a secret that contains another is hidden whole.
    Empty values are ignored.
    """
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def secret_values(
    settings: Mapping[str, object], contexts: Iterable[Mapping[str, object]], current: object
) -> set[str]:
    """The values of the secret ``settings``: effective in ``current`` (a ``Context``: its
    environment override included) and stored in any of ``contexts``."""
    names = [name for name, s in settings.items() if getattr(s, "secret", False)]
    found: set[str] = set()
    for name in names:
        value = current.get(name)  # type: ignore[attr-defined]
        if value:
            found.add(str(value))
        for stored in contexts:
            value = stored.get(name) if isinstance(stored, Mapping) else None
            if value:
                found.add(str(value))
    return found
