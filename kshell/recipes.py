"""Recipes: ``.ksh`` files of kshell command lines, replayed by ``kshell run FILE``.

``#`` comments, ``\\`` continuations, ``${NAME}`` / ``${NAME:-default}`` from
``set NAME=VALUE`` lines, ``--var NAME=VALUE`` or the environment, and
``include FILE`` (relative to the including file, cycles refused). Each line is
echoed as ``file:line: command`` before it runs; the first failure stops the
replay with its place and status, and ``--from N`` resumes at line N.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SET = re.compile(r"^set\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


class RecipeError(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.message = f"{where}: {message}"


@dataclass(frozen=True)
class Step:
    file: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def logical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(first physical line number, joined text) with continuations and comments handled."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise RecipeError(str(path), "no such recipe file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(str(path), f"cannot read the recipe: {e}") from e
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        if raw.endswith("\\"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        joined = " ".join(p.strip() for p in parts).strip()
        parts = []
        if joined and not joined.startswith("#"):
            yield start, joined
    if parts:
        raise RecipeError(f"{path}:{start}", "the file ends inside a `\\` continuation")


def expand(text: str, variables: Mapping[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise RecipeError(where, f"${{{name}}} is not set; pass --var {name}=VALUE or set it")

    return _VAR.sub(sub, text)


def steps(path: Path, variables: dict[str, str], _stack: tuple[Path, ...] = ()) -> Iterator[Step]:
    """The recipe's commands in order, variables expanded, includes followed."""
    path = path.resolve() if path.exists() else path
    if path in _stack:
        chain = " -> ".join(str(p) for p in (*_stack, path))
        raise RecipeError(str(path), f"include cycle: {chain}")
    for number, text in logical_lines(path):
        where = f"{path}:{number}"
        m = _SET.match(text)
        if m:
            variables.setdefault(m.group(1), expand(m.group(2).strip(), variables, where))
            continue
        text = expand(text, variables, where)
        if text.startswith("include "):
            import shlex

            try:
                target = shlex.split(text[len("include ") :])
            except ValueError as e:
                raise RecipeError(where, f"bad include: {e}") from e
            if len(target) != 1:
                raise RecipeError(where, "include takes one file name")
            yield from steps(path.parent / target[0], variables, (*_stack, path))
            continue
        yield Step(path, number, text)


def run_recipe(
    session, path: Path, variables: dict[str, str], *, start: int = 0, quiet: bool = False
) -> int:
    """Replay ``path`` in ``session``; the first failing step stops it."""
    from kshell.dispatch import execute

    try:
        plan = list(steps(path, dict(variables)))
    except RecipeError as e:
        session.warn(f"kshell run: {e.message}")
        return 2
    main = path.resolve()
    for step in plan:
        if start and step.file == main and step.line < start:
            continue
        if not quiet:
            session.warn(f"{step.where}: {step.text}")
        status = execute(session, step.text)
        if status != 0:
            resume = f"kshell run {path} --from {step.line}" if step.file == main else ""
            session.warn(
                f"kshell run: {step.where}: `{step.text}` failed with status {status}"
                + (f"; fix it and resume with `{resume}`" if resume else "")
            )
            return status
        if session.exit_requested:
            break
    return 0
