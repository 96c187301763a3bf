"""Command history file (prompt_toolkit's FileHistory format). Placeholder; see repl."""

from __future__ import annotations

from kshell import paths


def read_history() -> list[str]:
    path = paths.history_file()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    entries: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("+"):
            current.append(line[1:])
        elif current:
            entries.append("\n".join(current))
            current = []
    if current:
        entries.append("\n".join(current))
    return entries
