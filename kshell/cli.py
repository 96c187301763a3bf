"""``kshell``: the interactive shell, ``-c LINE``, lines on stdin, ``--sandbox``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

import kshell


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kshell",
        description="One shell for CoreOS clusters running fleet, rudder and Kubernetes.",
        epilog="Inside the shell, `help` lists the commands.",
    )
    p.add_argument("--version", action="version", version=f"kshell {kshell.__version__}")
    p.add_argument("-c", dest="line", metavar="LINE", help="run one command line and exit")
    p.add_argument("--context", metavar="NAME", help="use this context (not saved)")
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="start a throwaway local etcd and use a `sandbox` context pointing at it",
    )
    sub = p.add_subparsers(dest="subcommand", metavar="run")
    from kshell.recipe_commands import add_run_arguments

    add_run_arguments(sub.add_parser("run", help="replay a recipe file of kshell commands"))
    return p


def _recipe(session, args) -> int:
    from kshell.recipe_commands import run_from_args

    return run_from_args(session, args, "kshell run")


def _stdin_lines(session, stream) -> int:
    """Run lines from a pipe, stopping at the first failure like `sh -e`."""
    from kshell.dispatch import execute

    status = 0
    for number, line in enumerate(stream, 1):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        status = execute(session, line)
        if status != 0:
            session.warn(f"<stdin>:{number}: `{line.strip()}` failed with status {status}")
            return status
        if session.exit_requested:
            break
    return status


def main(argv: list[str] | None = None) -> int:
    import gc

    args = _parser().parse_args(argv)
    from kshell.config import ConfigError
    from kshell.leaving import StopOnSignals
    from kshell.session import open_session

    # Start-up allocates much and frees little: cyclic collections there are wasted work
    # (about a tenth of the time to the prompt). On again once started: before a command
    # runs, or once the first prompt is on the screen; at the latest when main returns.
    gc.disable()
    sandbox = None
    session = None

    def finish() -> None:
        """End what this run started: plugins' exit callbacks (tunnels), the sandbox."""
        if session is not None:
            session.close()
        if sandbox is not None:
            sandbox.stop()

    guard = StopOnSignals(finish)
    try:
        if args.sandbox:
            from kshell.sandbox import EtcdServer, SandboxError

            try:
                sandbox = EtcdServer()
                sandbox.start()
            except SandboxError as e:
                print(f"kshell: {e}", file=sys.stderr)
                return 69
            os.environ["KSHELL_SANDBOX_URL"] = sandbox.url
        recipe = args.subcommand == "run"
        interactive = (
            args.line is None and not recipe and sys.stdin.isatty() and sys.stdout.isatty()
        )
        try:
            session = open_session(
                context_name=args.context,
                interactive=interactive,
                dry_run=recipe and args.dry_run,
                install_missing=recipe and args.install_missing,
            )
            if sandbox is not None:
                from kshell.sandbox import use_sandbox

                use_sandbox(session, sandbox)
        except ConfigError as e:
            print(f"kshell: {e.message}", file=sys.stderr)
            return 78
        except kshell.CommandError as e:
            print(f"kshell: {e.message}", file=sys.stderr)
            return e.status
        for problem in session.host.load_errors():
            session.warn(f"kshell: {problem} (see `plugins`)")
        if not interactive:
            gc.enable()
        if recipe:
            return _recipe(session, args)
        if args.line is not None:
            from kshell.dispatch import execute

            return execute(session, args.line)
        if not interactive:
            return _stdin_lines(session, sys.stdin)
        from kshell.repl import repl

        return repl(session)
    except KeyboardInterrupt:
        print("kshell: interrupted", file=sys.stderr)
        return 130
    except OSError:
        if guard.received is None:
            raise
        return 128 + guard.received  # the terminal is gone (SIGHUP): nothing left to tell
    finally:
        gc.enable()
        try:
            finish()
        finally:
            guard.restore()


def run() -> NoReturn:
    """The ``kshell`` command: :func:`main`, then an exit without the interpreter's teardown.

    Tearing down the modules a run has loaded (sh brings asyncio, email, importlib.metadata)
    takes 20-30 ms, as long as kshell's whole start, after the work is done. Output is
    flushed and exit handlers run first; with a non-daemon thread still running, or output
    that cannot be flushed, the ordinary exit runs instead.
    """
    status = main()
    import atexit
    import threading

    def pending(t: threading.Thread) -> bool:  # a cancelled Timer (sh leaves one) does nothing
        done = isinstance(t, threading.Timer) and t.finished.is_set()
        return t is not threading.main_thread() and t.is_alive() and not t.daemon and not done

    if any(pending(t) for t in threading.enumerate()):
        sys.exit(status)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let the ordinary exit report it
        sys.exit(status)
    atexit._run_exitfuncs()
    os._exit(status)

