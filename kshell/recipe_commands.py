"""The shell's recipe commands: ``run`` (as ``kshell run``), ``wait``, ``history save``."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from kshell import Candidate, Command, CommandError, complete_files, hookimpl

if TYPE_CHECKING:
    from kshell.session import ShellSession

EX_TIMEOUT = 124
EX_INTERRUPTED = 130


# -- run -------------------------------------------------------------------------------


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``kshell run`` and of ``run`` at the prompt (one definition)."""
    p.add_argument("recipe", help="a .ksh file")
    p.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE",
        help="set ${NAME} (repeatable; wins over the recipe's own `set`)",
    )  # fmt: skip
    p.add_argument(
        "--dry-run", action="store_true", help="contact and change nothing; say what would be done"
    )
    p.add_argument(
        "--from", dest="start", default="", metavar="LINE",
        help="resume at this line (LINE.LINE: a line of the file included at LINE)",
    )  # fmt: skip
    p.add_argument(
        "--keep-going", action="store_true", help="run every line; report each failure at the end"
    )
    p.add_argument("--quiet", action="store_true", help="do not echo each line")
    p.add_argument("--yes", action="store_true", help="answer yes to every confirmation")
    p.add_argument(
        "--install-missing", action="store_true", help="install missing pinned tools without asking"
    )


def run_from_args(session: ShellSession, args: argparse.Namespace, prog: str) -> int:
    """Replay ``args.recipe`` with the flags applied to ``session`` for the run only."""
    from kshell.replay import Options, run_recipe

    variables = {}
    for pair in args.var:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            session.warn(f"{prog}: --var takes NAME=VALUE, not `{pair}`")
            return 2
        variables[name] = value
    flags = session.interactive, session.dry_run, session.install_missing, session.assume_yes
    entered_dry = args.dry_run and not session.dry_run
    config = session.config, session.context, session.runner, session._dry_raw
    # As `kshell run`: nobody is asked anything; a dry run's config stays in memory.
    session.interactive = False
    session.dry_run = session.dry_run or args.dry_run
    session.install_missing = session.install_missing or args.install_missing
    session.assume_yes = session.assume_yes or args.yes
    running = session.state("kshell.run").setdefault("recipes", [])
    here = os.path.abspath(args.recipe)
    pushed = here not in running
    try:
        if not pushed:  # `run` of a recipe that is running already would never end
            session.warn(f"{prog}: {args.recipe} is running already (a `run` cycle); not again")
            return 2
        running.append(here)
        options = Options(variables, args.start, args.keep_going, args.quiet, prog)
        return run_recipe(session, Path(args.recipe), options)
    finally:
        if pushed:
            running.pop()
        session.interactive, session.dry_run, session.install_missing, session.assume_yes = flags
        if entered_dry:  # the dry run's config changes end with it
            session.config, session.context, session.runner, session._dry_raw = config


def _complete_recipe(session: ShellSession, prefix: str) -> list[Candidate]:
    return complete_files(prefix, [".ksh"], "recipe")


def _run(session: ShellSession, args: argparse.Namespace) -> int:
    return run_from_args(session, args, "run")


# -- wait ------------------------------------------------------------------------------


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {value!r}")
    return number


def _wait_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=_positive, default=60.0, metavar="S", help="default 60")
    p.add_argument(
        "--interval", type=_positive, default=2.0, metavar="S", help="try every S (default 2)"
    )
    p.add_argument("waited", nargs=argparse.REMAINDER, metavar="COMMAND", help="kshell command")


def _attempt(session: ShellSession, line: str) -> tuple[int, str, str]:
    """Run ``line`` with its output kept, not shown; (status, stdout, stderr)."""
    import io

    from kshell.dispatch import execute

    out, err = io.StringIO(), io.StringIO()
    saved = session.out, session.err, session.interactive
    session.out, session.err, session.interactive = out, err, False
    try:
        status = execute(session, line)
    finally:
        session.out, session.err, session.interactive = saved
    return status, out.getvalue(), err.getvalue()


def _last_lines(text: str, n: int = 20) -> list[str]:
    lines = [line for line in text.rstrip("\n").split("\n") if line.strip()]
    return lines[-n:]


def _wait(session: ShellSession, args: argparse.Namespace) -> int:
    import shlex

    from kshell.dispatch import execute

    if not args.waited:
        raise CommandError("which command? (wait [--timeout S] [--interval S] COMMAND…)", 2)
    line = shlex.join(args.waited)
    if session.dry_run:
        session.echo(f"+ wait up to {args.timeout:g}s, every {args.interval:g}s, until: {line}")
        return execute(session, line)
    start = time.monotonic()
    deadline = start + args.timeout
    attempts = 0
    with session.progress(f"wait: {line} (up to {args.timeout:g}s)"):
        while True:
            attempts += 1
            status, out, err = _attempt(session, line)
            if status in (0, EX_INTERRUPTED):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(args.interval, left))
    if status == EX_INTERRUPTED:
        raise KeyboardInterrupt
    if status == 0:
        for text in _last_lines(out, 10**6):
            session.echo(text)
        for text in _last_lines(err, 10**6):
            session.warn(text)
        return 0
    for text in _last_lines(out + err):
        session.warn(f"  {text}")
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    raise CommandError(
        f"`{line}` did not succeed within {args.timeout:g}s ({tries}, last status {status}; "
        "its last output is above)",
        EX_TIMEOUT,
    )


# -- history save ------------------------------------------------------------------------


_NOT_SAVED = ("history", "exit")


def _variable(key: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9]+", "_", key).upper()


def _recipe_line(session: ShellSession, line: str) -> tuple[str, set[str]]:
    """``line`` with secret values replaced by ``${VARIABLE}``s, and those variables."""
    from kshell.history import MASK, redact, secret_settings

    secrets = secret_settings(session.host.settings.items())
    masked = redact(line, secrets)
    used: set[str] = set()
    if masked == line:
        return line, used
    for key in secrets:
        var = _variable(key)
        for before, after in ((f"{key}={MASK}", f"{key}=${{{var}}}"),
                              (f"{key} {MASK}", f"{key} ${{{var}}}")):  # fmt: skip
            if before in masked:
                masked = masked.replace(before, after)
                used.add(var)
    return masked, used


def _history_save(session: ShellSession, args: argparse.Namespace) -> int:
    import datetime

    from kshell.atomic import write_atomic
    from kshell.context import ActiveContext

    kept = [
        (line, ctx) for line, ctx in session.succeeded
        if line.split()[:1] and line.split()[0] not in _NOT_SAVED
    ]  # fmt: skip
    if args.last:
        kept = kept[-args.last :]
    if not kept:
        raise CommandError("no command has succeeded in this session yet; nothing to save", 1)
    lines, variables = [], set()
    for line, _ in kept:
        text, used = _recipe_line(session, line)
        lines.append(text.replace("\n", " \\\n"))
        variables |= used
    name = kept[0][1]
    stored = session.config.contexts.get(name, {})
    context = ActiveContext(name, stored, session.host.settings)
    settings = ", ".join(f"{k}={context.shown(k)}" for k in sorted(stored)) or "no settings"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    path = Path(args.file).expanduser()
    if session.dry(f"write {len(lines)} command{'s' if len(lines) != 1 else ''} to {path}"):
        return 0
    header = [
        f"# Saved by `history save` on {now}: {len(lines)} command"
        f"{'s' if len(lines) != 1 else ''} that succeeded in a kshell session.",
        f"# Ran against context `{name}` ({settings}).",
    ]
    if variables:
        names = " ".join(f"--var {v}=…" for v in sorted(variables))
        header.append(f"# Secret values were not saved; pass them: {names}")
    header.append(f"#   kshell run {path} --dry-run   (check first)")
    text = "\n".join([*header, "", *lines]) + "\n"
    try:
        write_atomic(path, text)
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror or e}", 74) from None
    session.echo(f"saved {len(lines)} command{'s' if len(lines) != 1 else ''} to {path}")
    return 0


def _history_save_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the recipe to write (.ksh)")
    p.add_argument("--last", type=int, default=0, metavar="N", help="only the last N commands")


@hookimpl
def kshell_commands(register) -> None:
    register(Command(
        "run", "Replay a recipe file (as `kshell run`): checked first, then line by line",
        _run, arguments=add_run_arguments, completers={"recipe": _complete_recipe},
    ))  # fmt: skip
    register(Command(
        "wait", "Rerun a command quietly until it succeeds (bounded); says how it ended",
        _wait, arguments=_wait_args,
    ))  # fmt: skip
    register(Command(
        "history save", "Write this session's successful commands as a recipe (secrets masked)",
        _history_save, arguments=_history_save_args, completers={"file": _complete_recipe},
    ))  # fmt: skip
