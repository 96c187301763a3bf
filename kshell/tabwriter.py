"""Tables written by Go's ``text/tabwriter``, parsed by column position.

The pinned Go tools (fleetctl 0.8.1) lay out their lists with tabwriter (tab width 8,
padding 1, TAB as the padding character): once TABs are expanded every column starts at
the same multiple of 8 on every line. Cells can be empty, and an empty cell is just one
more TAB, so splitting on runs of TABs would shift the later cells left. Rows are
therefore cut at the column starts of the header line (tools-2014.md §1.4).
"""

from __future__ import annotations

import re

_HEADER_CELL = re.compile(r"\S+")


def columns(header: str) -> list[tuple[str, int]]:
    """Each header cell, lower-cased, with the position where its column starts."""
    expanded = header.rstrip("\r\n").expandtabs(8)
    return [(m.group().lower(), m.start()) for m in _HEADER_CELL.finditer(expanded)]


def cut_row(line: str, starts: list[int]) -> list[str]:
    """One row cut at the columns' start positions; an empty cell is ``""``."""
    expanded = line.rstrip("\r\n").expandtabs(8)
    ends = [*starts[1:], None]
    return [expanded[a:b].strip() for a, b in zip(starts, ends)]


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows as dicts keyed by the lower-cased header names (the first non-empty line)."""
    # Only "\n" ends a line: str.splitlines would also cut at \x85, \x1c … inside a cell.
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return []
    cols = columns(lines[0])
    names = [name for name, _ in cols]
    starts = [start for _, start in cols]
    return [dict(zip(names, cut_row(line, starts))) for line in lines[1:]]
