"""Replaying a checked recipe: ``kshell run FILE`` and ``run FILE`` at the prompt.

The whole file (includes too) is read and checked first (:func:`kshell.recipes.plan`);
with any problem nothing runs. Then each line is echoed as ``file:line: command``
and run from its parsed arguments (nothing is read or parsed again). The first
failure stops the replay with its place, status and the command that resumes it;
``keep_going`` runs every line and names each failure at the end. Ctrl-C stops
the current line's tool and the replay, and says where and how to resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kshell.recipes import Plan, Step, parse_position, plan, position_text

if TYPE_CHECKING:
    from kshell.session import ShellSession

EX_USAGE = 2
EX_INTERRUPTED = 130


@dataclass
class Options:
    variables: dict[str, str]
    start: str = ""
    """``--from``: ``LINE`` or ``LINE.LINE`` (a line of an included file)."""
    keep_going: bool = False
    quiet: bool = False
    resume: str = "kshell run"
    """How the user runs a recipe here (``kshell run`` or ``run`` at the prompt)."""


def run_recipe(session: ShellSession, path: Path | str, options: Options) -> int:
    """Check ``path`` completely, then replay it in ``session``; returns the exit status."""
    prog = options.resume
    recipe = plan(session.host.commands, path, options.variables)
    if recipe.problems:
        if len(recipe.problems) == 1:
            session.warn(f"{prog}: {recipe.problems[0]} (nothing was run)")
            return EX_USAGE
        for problem in recipe.problems:
            session.warn(f"{prog}: {problem}")
        session.warn(f"{prog}: {len(recipe.problems)} problems in {path}; nothing was run")
        return EX_USAGE
    try:
        start = _start(recipe, options.start)
    except ValueError as e:
        session.warn(f"{prog}: {e}")
        return EX_USAGE
    return _replay(session, recipe, [s for s in recipe.steps if s.position >= start], options)


def _start(recipe: Plan, text: str) -> tuple[int, ...]:
    """The position ``--from`` names; ValueError when it is outside the recipe."""
    if not text:
        return ()
    position = parse_position(text)
    file = recipe.main
    for depth, line in enumerate(position):
        last = recipe.lines.get(file, 0)
        if line > last:
            raise ValueError(f"--from {text}: {file} has {last} lines")
        if depth < len(position) - 1:
            included = recipe.includes.get(position[: depth + 1])
            if included is None:
                raise ValueError(f"--from {text}: {file}:{line} is not an include line")
            file = included
    if not any(s.position >= position for s in recipe.steps):
        raise ValueError(f"--from {text}: no command at or after that line")
    return position


def _replay(session: ShellSession, recipe: Plan, steps: list[Step], options: Options) -> int:
    from kshell.dispatch import execute, invoke, one_line

    prog = options.resume
    failed: list[tuple[Step, int]] = []
    step: Step | None = None
    try:
        for step in steps:
            if not options.quiet:
                session.warn(one_line(f"{step.where}: {step.text}"))  # a line, printable
            if step.args is None:
                status = execute(session, step.text)
            else:
                status = invoke(session, step.entry.command, step.args)
            if status == EX_INTERRUPTED:
                raise KeyboardInterrupt
            if status != 0:
                if not options.keep_going:
                    resume = _resume(recipe, step, options)
                    session.warn(one_line(f"{prog}: {_failure(step, status)}; {resume}"))
                    return status
                session.warn(one_line(f"{prog}: {_failure(step, status)}; going on (--keep-going)"))
                failed.append((step, status))
            if session.exit_requested:
                break
    except KeyboardInterrupt:
        where = f"{step.where} (`{step.text}`)" if step else "before the first line"
        again = f"; {_resume(recipe, step, options, 'resume')}" if step else ""
        session.warn(one_line(f"{prog}: interrupted at {where}{again}"))
        return EX_INTERRUPTED
    if failed:
        session.warn(one_line(
            f"{prog}: {len(failed)} line{'s' if len(failed) != 1 else ''} failed: "
            + "; ".join(f"{s.where} `{s.text}` (status {st})" for s, st in failed)
        ))  # fmt: skip
        return failed[0][1]
    return 0


def _failure(step: Step, status: int) -> str:
    return f"{step.where}: `{step.text}` failed with status {status}"


def _resume(recipe: Plan, step: Step, options: Options, verb: str = "fix it and resume") -> str:
    import shlex

    where = position_text(step.position)
    line = f"{options.resume} {shlex.quote(recipe.main)} --from {where}"
    notes = [f"line {step.line} of {step.file}"] if step.chain else []
    if options.variables:  # values may be secrets: not repeated here
        notes.append("with the same --var flags")
    return f"{verb} with `{line}`" + (f" ({', '.join(notes)})" if notes else "")
