"""File-name completion: directories, and files with the suffixes a command reads."""

from __future__ import annotations

import os
from collections.abc import Sequence

from kshell import Candidate


def complete_files(prefix: str, suffixes: Sequence[str], meta: str) -> list[Candidate]:
    """Directories and files ending in one of ``suffixes`` under what was typed.

    Local and never slow, so it needs no cache. Hidden entries show only once a ``.`` is
    typed, as in a POSIX shell.
    """
    directory, slash, tail = prefix.rpartition("/")
    shown = directory + slash
    base = os.path.expanduser(directory) if directory else ("/" if slash else ".")
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    out = []
    for entry in entries:
        if not entry.name.startswith(tail) or (entry.name.startswith(".") and not tail):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:  # vanished, or a link to nowhere
            continue
        if is_dir:
            out.append(Candidate(f"{shown}{entry.name}/", "directory"))
        elif entry.name.endswith(tuple(suffixes)):
            out.append(Candidate(f"{shown}{entry.name}", meta))
    return out
