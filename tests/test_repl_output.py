"""Output from background threads never lands inside the line being typed (real pty).

A plugin command starts a thread that writes a line a moment later, the way the
once-per-binary version note, a completer's warning or a progress line can; meanwhile a
half-typed line is on the prompt. The line must appear above the prompt, and the prompt
must come back with what was typed, which then runs intact.
"""

from __future__ import annotations

import io
import os
import re
import sys
import textwrap
import time

import pytest

ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")

CHILD = textwrap.dedent("""\
    import os, sys, threading, time
    import kshell
    from kshell import Command
    from kshell.session import open_session
    from kshell.repl import repl

    class Later:
        @kshell.hookimpl
        def kshell_commands(self, register):
            def later(session, args):
                def note():
                    while not os.path.exists(args.when):
                        time.sleep(0.02)
                    getattr(session, args.stream)(args.text)
                threading.Thread(target=note, daemon=True).start()
            def add(p):
                p.add_argument("text")
                p.add_argument("--when", help="write once this file exists")
                p.add_argument("--stream", choices=["warn", "echo"], default="warn")
            register(Command("later", "Write TEXT from a thread when told to", later,
                             arguments=add))

    session = open_session(interactive=True)
    session.host.register(Later(), "later")
    sys.exit(repl(session))
""")


@pytest.fixture
def shell(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KSHELL_", "ETCDCTL_", "FLEETCTL_")) and k != "KUBERNETES_MASTER"
    }
    env.update(KSHELL_HOME=str(tmp_path / "home"), KSHELL_PLUGINS="", TERM="xterm",
               PROMPT_TOOLKIT_NO_CPR="1")  # fmt: skip
    child = pexpect.spawn(sys.executable, ["-c", CHILD], env=env, encoding="utf-8",
                          codec_errors="replace", timeout=15, dimensions=(30, 100))  # fmt: skip
    child.logfile_read = io.StringIO()
    child.pexpect = pexpect
    child.expect("kshell:default>")
    yield child
    if child.isalive():
        child.terminate(force=True)


@pytest.mark.slow
@pytest.mark.parametrize("stream", ["warn", "echo"])
def test_a_threads_line_goes_above_the_prompt_and_the_typed_line_survives(
    shell, stream, tmp_path
):
    go = tmp_path / "go"
    shell.send(f"later note-from-a-thread --when {go} --stream {stream}\r")
    shell.expect("kshell:default>")
    shell.send("context li")  # half-typed when the thread writes
    shell.expect("context li")
    time.sleep(0.3)  # the completion menu settles
    seen = shell.logfile_read
    start = len(seen.getvalue())
    go.touch()
    shell.expect("note-from-a-thread")
    # The prompt was taken down first (the note starts its own line, after an erase) and
    # drawn again below it, with the half-typed line.
    raw = seen.getvalue()[start:]
    before_note = raw[: raw.index("note-from-a-thread")]
    assert "\x1b[J" in before_note or "\x1b[K" in before_note, repr(before_note)
    assert not ANSI.sub("", before_note).rstrip(" \r").endswith("context li"), repr(before_note)
    shell.expect(r"kshell:default>")
    shell.expect("context li", timeout=5)
    time.sleep(0.2)
    shell.send("st\r")  # the line the user typed, whole
    shell.expect(r"\* default")
    shell.send("exit\r")
    shell.expect(shell.pexpect.EOF)
