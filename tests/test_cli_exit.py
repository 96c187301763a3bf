"""The `kshell` command ends without the interpreter's teardown (20-30 ms after the work),
yet its output, exit status, exit handlers and unfinished threads are as with sys.exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow


def kshell(home, prelude: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kshell ARGS` as the console script runs it (kshell.cli:run), after ``prelude``."""
    code = prelude + textwrap.dedent(f"""
        import sys
        from kshell.cli import run
        sys.argv = ["kshell", *{list(args)!r}]
        run()
    """)
    env = {**os.environ, "KSHELL_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip


def test_output_and_status_survive_the_fast_exit(home):
    r = kshell(home, "", "-c", "context list")
    assert (r.returncode, r.stdout, r.stderr) == (0, "* default\n", "")
    r = kshell(home, "", "-c", "nosuch")
    assert r.returncode == 127 and "unknown command `nosuch`" in r.stderr


def test_the_interpreter_teardown_is_skipped_but_exit_handlers_run(home):
    prelude = textwrap.dedent("""\
        import atexit
        class Torn:
            def __del__(self):
                print("torn down", flush=True)
        KEPT = Torn()  # finalized only by the interpreter's teardown
        atexit.register(lambda: print("exit handler", flush=True))
    """)
    r = kshell(home, prelude, "-c", "context list")
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["* default", "exit handler"]


def test_a_running_non_daemon_thread_gets_the_ordinary_exit(home):
    prelude = textwrap.dedent("""\
        import threading, time
        import kshell.cli
        returned, main = threading.Event(), kshell.cli.main
        def noted(*args):
            try:
                return main(*args)
            finally:
                returned.set()
        kshell.cli.main = noted
        def late():
            returned.wait(30)
            time.sleep(0.3)  # still working when run() decides how to exit
            print("thread done", flush=True)
        threading.Thread(target=late).start()
    """)
    r = kshell(home, prelude, "-c", "context list")
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["* default", "thread done"]
