"""Recipes: ``.ksh`` files of kshell command lines, read and checked before anything runs.

``#`` comments, ``\\`` continuations, ``${NAME}`` / ``${NAME:-default}`` from
``set NAME=VALUE`` lines, ``--var NAME=VALUE`` or the environment (``${RECIPE_DIR}``
is the directory of the file being read), and ``include FILE`` (relative to the
including file, cycles refused).

:func:`plan` reads the whole file and its includes, splits every line, looks it
up in the command table and parses it with the command's own parser (``wait``
lines: the waited-for command too). Every problem is collected with its
``file:line`` (and, inside an include, the including line); the replay
(:mod:`kshell.replay`) starts only when there are none, and runs the parsed
lines without reading or parsing anything again.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kshell.table import CommandTable, Entry

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SET = re.compile(r"^set\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")

Site = tuple[str, int]
"""A place in a recipe: the file as shown and a line number."""


class RecipeError(Exception):
    """A problem found while reading a recipe; ``message`` starts with ``file:line``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.message = f"{where}: {message}"


@dataclass
class Step:
    """One command line of the recipe, expanded, split and parsed."""

    file: str
    line: int
    text: str
    chain: tuple[Site, ...] = ()
    """The ``include`` lines that lead here, outermost first."""
    entry: Entry | None = None
    args: argparse.Namespace | None = None
    """The parsed arguments; None means: run ``text`` through the dispatcher."""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" + included_from(self.chain)

    @property
    def position(self) -> tuple[int, ...]:
        """Line numbers from the main file down: ``(4, 3)`` is line 3 of the file that
        line 4 includes. Ordered like the replay, so ``--from`` compares positions."""
        return (*(line for _, line in self.chain), self.line)


@dataclass
class Plan:
    main: str
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    includes: dict[tuple[int, ...], str] = field(default_factory=dict)
    """Position of each ``include`` line -> the file it includes (for ``--from``)."""
    lines: dict[str, int] = field(default_factory=dict)
    """Physical line count of each file read."""


def included_from(chain: tuple[Site, ...]) -> str:
    return "".join(f" (included from {f}:{n})" for f, n in reversed(chain))


def position_text(position: tuple[int, ...]) -> str:
    """``(4, 3)`` -> ``4.3``: the form ``--from`` takes."""
    return ".".join(str(n) for n in position)


def parse_position(text: str) -> tuple[int, ...]:
    """``4`` or ``4.3`` (line 3 of the file included at line 4); ValueError otherwise."""
    try:
        position = tuple(int(part) for part in text.split("."))
    except ValueError:
        wanted = "LINE or LINE.LINE (inside an include)"
        raise ValueError(f"--from takes {wanted}, not `{text}`") from None
    if not position or any(n < 1 for n in position):
        raise ValueError(f"--from takes line numbers from 1, not `{text}`")
    return position


# -- reading -------------------------------------------------------------------------


def read_text(path: Path, shown: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise RecipeError(shown, "no such recipe file") from e
    except IsADirectoryError as e:
        raise RecipeError(shown, "is a directory, not a recipe file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(shown, f"cannot read the recipe: {e}") from e


def logical_lines(text: str) -> Iterator[tuple[int, str | None]]:
    """(first physical line number, joined text) with continuations and comments
    handled; ``None`` as text when the file ends inside a continuation."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        joined = " ".join(p.strip() for p in parts).strip()
        parts = []
        if joined and not joined.startswith("#"):
            yield start, joined
    if parts:
        yield start, None


def expand(
    text: str, variables: Mapping[str, str], builtin: Mapping[str, str] | None = None
) -> tuple[str, list[str]]:
    """``text`` with ``${NAME}`` replaced; and the names that are not set anywhere, each
    once (a line naming it twice is one problem). ``builtin`` (``RECIPE_DIR``) comes first:
    it is the reading file's own."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if builtin and name in builtin:
            return builtin[name]
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        if name not in missing:
            missing.append(name)
        return m.group(0)

    return _VAR.sub(sub, text), missing


# -- checking one line -----------------------------------------------------------------


def check_line(table: CommandTable, text: str) -> tuple[Entry | None, argparse.Namespace | None]:
    """Split, look up and parse ``text`` as the dispatcher would, running nothing;
    ValueError says what is wrong (the caller adds the place) when the line cannot run."""
    from kshell.dispatch import no_command, no_subcommand, not_text, parse_words, split
    from kshell.table import HelpShown, UsageError

    try:
        words = split(text)
    except ValueError as e:
        raise ValueError(f"cannot split the line: {e} (check quotes)") from None
    if not words:
        return None, None
    problem = not_text(words)
    if problem:  # the dispatcher's own refusal: a recipe's lines go to invoke, past it
        raise ValueError(f"the line holds {problem}; type it as text")
    found = table.match(words)
    if found is None:
        raise ValueError(no_command(table, words)[0])
    entry, used = found
    rest = words[used:]
    if entry.command.passthrough:
        return entry, argparse.Namespace(args=rest)
    try:
        args = parse_words(table.parser(entry), rest)
    except UsageError as e:
        unknown = no_subcommand(table, words, used)
        if unknown:
            raise ValueError(unknown) from None
        raise ValueError(f"{entry.command.name}: {e.message} ({e.usage.strip()})") from None
    except HelpShown:
        return entry, None  # `X --help` in a recipe: the dispatcher prints the help
    waited = getattr(args, "waited", None)
    if entry.command.name == "wait" and waited is not None:
        if not waited:
            raise ValueError("wait: which command? (wait [--timeout S] [--interval S] COMMAND…)")
        import shlex

        try:
            check_line(table, shlex.join(waited))
        except ValueError as e:
            raise ValueError(f"wait: {e}") from None
    return entry, args


# -- the whole recipe ----------------------------------------------------------------------


def plan(
    table: CommandTable, path: Path | str, variables: Mapping[str, str] | None = None
) -> Plan:
    """Read, split and check ``path`` and everything it includes. Never raises for
    anything in the files: problems are collected in ``Plan.problems``."""
    shown = str(path)
    result = Plan(main=shown)
    _read(table, Path(path), shown, dict(variables or {}), result, (), ())
    return result


def _read(
    table: CommandTable,
    path: Path,
    shown: str,
    variables: dict[str, str],
    out: Plan,
    chain: tuple[Site, ...],
    seen: tuple[Path, ...],
) -> None:
    try:
        text = read_text(path, shown)
    except RecipeError as e:
        out.problems.append(e.message + included_from(chain))
        return
    out.lines[shown] = len(text.splitlines())
    resolved = path.resolve()
    # Resource files beside the recipe: `kube create -c ${RECIPE_DIR}/pod.json pods`.
    builtin = {"RECIPE_DIR": os.path.dirname(shown) or "."}
    for number, line in logical_lines(text):
        here = f"{shown}:{number}"
        suffix = included_from(chain)

        def problem(message: str, here: str = here, suffix: str = suffix) -> None:
            out.problems.append(f"{here}: {message}{suffix}")

        if line is None:
            problem("the file ends inside a `\\` continuation")
            break
        m = _SET.match(line)
        if m:
            from kshell.dispatch import strip_comments

            # `set X=v  # why`: a comment as on any line (`#` at the start of a word).
            value, missing = expand(strip_comments(m.group(2)).strip(), variables, builtin)
            for name in missing:
                problem(f"${{{name}}} is not set; pass --var {name}=VALUE or set it")
            variables.setdefault(m.group(1), value)
            continue
        line, missing = expand(line, variables, builtin)
        if missing:
            for name in missing:
                problem(f"${{{name}}} is not set; pass --var {name}=VALUE or set it")
            continue
        if line == "include" or line.startswith(("include ", "include\t")):
            link = (*chain, (shown, number))
            _include(table, path, shown, line, variables, out, link, seen, resolved, problem)
            continue
        try:
            entry, args = check_line(table, line)
        except ValueError as e:
            problem(str(e))
            continue
        if entry is not None:
            out.steps.append(Step(shown, number, line, chain, entry, args))


def _include(table, path, parent, line, variables, out, chain, seen, resolved, problem) -> None:
    from kshell.dispatch import split

    try:
        target = split(line[len("include") :])
    except ValueError as e:
        problem(f"bad include: {e}")
        return
    if len(target) != 1:
        problem("include takes one file name")
        return
    name = os.path.expanduser(target[0])
    child = path.parent / name
    # Shown relative to where the user ran from, like the main file.
    shown = name if os.path.isabs(name) else os.path.normpath(Path(parent).parent / name)
    if not child.exists():
        problem(f"include: no such file {shown}")
        return
    if child.resolve() in (*seen, resolved):
        names = " -> ".join(str(p) for p in (*seen, resolved, child.resolve()))
        problem(f"include cycle: {names}")
        return
    out.includes[tuple(n for _, n in chain)] = shown
    _read(table, child, shown, variables, out, chain, (*seen, resolved))
