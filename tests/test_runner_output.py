"""Where a tool's output goes: straight to the session's file descriptors when it has real
ones (no Python in between), through the stream otherwise (StringIO), captured when asked;
Ctrl-C and timeouts still stop the tool."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kshell import Tool, ToolEnv, hookimpl
from kshell.config import load_config
from kshell.host import PluginHost
from kshell.session import ShellSession


class Fake:
    @hookimpl
    def kshell_tools(self, register):
        register(Tool("faketool", "1.0", releases={}, version_args=("--version",)))

    @hookimpl
    def kshell_tool_env(self, tool, context):
        return ToolEnv(args=("--x",)) if tool == "faketool" else None


class Recording(io.TextIOWrapper):
    """A real file whose Python-level writes are recorded."""

    def __init__(self, path: Path) -> None:
        super().__init__(open(path, "wb"), encoding="utf-8")  # noqa: SIM115 - closed by the test
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def faketool(tmp_path):
    script = tmp_path / "faketool"
    script.write_text(
        textwrap.dedent("""\
        #!/bin/sh
        case "$*" in *--sleep*) echo $$ > "$PIDFILE"; exec sleep 30 ;; esac
        echo "args: $*"
        echo "to stderr" >&2
        exit ${EXIT:-0}
    """)
    )
    script.chmod(0o755)
    return script


def session_with(home, faketool, out, err) -> ShellSession:
    host = PluginHost().load(only="")
    host.register(Fake(), "fake")
    session = ShellSession(host, load_config(), out=out, err=err)
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(faketool=str(faketool)))
    return session


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_shown_output_goes_to_the_real_fd_without_passing_through_python(home, faketool, tmp_path):
    out, err = Recording(tmp_path / "out"), Recording(tmp_path / "err")
    session = session_with(home, faketool, out, err)
    session.echo("before")
    result = session.run("faketool", ["hi"])
    out.close(), err.close()
    assert result.status == 0 and result.stdout == ""
    # In order: what the session wrote first is flushed before the tool writes.
    assert (tmp_path / "out").read_text() == "before\nargs: --x hi\n"
    assert (tmp_path / "err").read_text() == "to stderr\n"
    assert out.writes == ["before\n"] and err.writes == []  # the tool wrote on its own


def test_shown_output_reaches_a_session_stream_that_is_not_a_file(home, faketool):
    out, err = io.StringIO(), io.StringIO()
    session = session_with(home, faketool, out, err)
    session.echo("before")
    assert session.run("faketool", ["hi"]).status == 0
    assert out.getvalue() == "before\nargs: --x hi\n" and err.getvalue() == "to stderr\n"


@pytest.mark.parametrize("kind", ["file", "stringio"])
def test_capture_stderr_streams_stdout_and_returns_stderr(home, faketool, tmp_path, kind):
    out = Recording(tmp_path / "out") if kind == "file" else io.StringIO()
    err = io.StringIO()
    session = session_with(home, faketool, out, err)
    result = session.run("faketool", ["hi"], capture="stderr")
    assert (result.status, result.stdout, result.stderr) == (0, "", "to stderr\n")
    assert err.getvalue() == ""
    if kind == "file":
        out.close()
        assert (tmp_path / "out").read_text() == "args: --x hi\n" and out.writes == []
    else:
        assert out.getvalue() == "args: --x hi\n"


def test_timeout_stops_a_tool_writing_to_a_real_fd(home, faketool, tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("PIDFILE", str(pidfile))
    out, err = Recording(tmp_path / "out"), io.StringIO()
    session = session_with(home, faketool, out, err)
    started = time.monotonic()
    result = session.run("faketool", ["--sleep"], timeout=0.5)
    assert result.status == 124 and time.monotonic() - started < 10
    assert "no answer after 0.5s" in err.getvalue()
    assert gone(int(pidfile.read_text()))


# -- Ctrl-C, end to end: `kshell -c` with its output on a pipe ------------------------------


def start_kshell(home: Path, tool: Path, pidfile: Path) -> subprocess.Popen:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.yaml").write_text(f"binaries:\n  etcdctl: {tool}\n")
    env = {**os.environ, "KSHELL_HOME": str(home), "PIDFILE": str(pidfile)}
    return subprocess.Popen(
        [sys.executable, "-m", "kshell", "-c", "etcdctl watch /k"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # its own process group, like a job in a terminal
    )  # fmt: skip


def stalling_tool(tmp_path: Path, ignore_sigint: bool) -> Path:
    tool = tmp_path / "tool"
    trap = "trap '' INT\n" if ignore_sigint else ""
    tool.write_text(f'#!/bin/sh\n{trap}echo "$$" > "$PIDFILE"\necho started\nexec sleep 30\n')
    tool.chmod(0o755)
    return tool


@pytest.mark.slow
def test_ctrl_c_at_the_terminal_stops_a_streaming_tool(home, tmp_path):
    pidfile = tmp_path / "pid"
    proc = start_kshell(home, stalling_tool(tmp_path, ignore_sigint=False), pidfile)
    try:
        assert proc.stdout.readline() == "started\n"  # the tool's own write, through the pipe
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        assert proc.wait(timeout=15) == 130
    finally:
        proc.kill()
    assert gone(int(pidfile.read_text()))
    assert "Traceback" not in proc.stderr.read()


@pytest.mark.slow
def test_interrupting_kshell_alone_stops_a_tool_that_ignores_sigint(home, tmp_path):
    pidfile = tmp_path / "pid"
    proc = start_kshell(home, stalling_tool(tmp_path, ignore_sigint=True), pidfile)
    try:
        assert proc.stdout.readline() == "started\n"
        os.kill(proc.pid, signal.SIGINT)  # only kshell: it passes it on, then escalates
        assert proc.wait(timeout=15) == 130
    finally:
        proc.kill()
    assert gone(int(pidfile.read_text()))
    assert "Traceback" not in proc.stderr.read()


def test_shown_output_goes_straight_to_a_terminal(home, faketool):
    """The interactive case: the session's streams are a terminal."""
    master, slave = os.openpty()
    out = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        session = session_with(home, faketool, out, out)
        assert session.run("faketool", ["hi"]).status == 0
        assert session.run("faketool", ["hi"], capture="stderr").stderr == "to stderr\n"
        shown = b""
        while shown.count(b"\n") < 3:
            shown += os.read(master, 1024)
    finally:
        out.close()
        os.close(master)
    assert shown.replace(b"\r\n", b"\n").decode().splitlines() == [
        "args: --x hi", "to stderr", "args: --x hi",
    ]  # fmt: skip


@pytest.mark.slow
def test_ctrl_c_at_the_prompt_stops_a_tool_writing_to_the_terminal(home, tmp_path):
    """In the interactive shell: the tool writes to the terminal itself; Ctrl-C stops it and
    gives a working prompt back."""
    pexpect = pytest.importorskip("pexpect")
    pidfile = tmp_path / "pid"
    tool = stalling_tool(tmp_path, ignore_sigint=False)
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.yaml").write_text(f"binaries:\n  etcdctl: {tool}\n")
    env = {**os.environ, "KSHELL_HOME": str(home), "PIDFILE": str(pidfile), "TERM": "xterm",
           "PROMPT_TOOLKIT_NO_CPR": "1"}  # fmt: skip
    child = pexpect.spawn(sys.executable, ["-m", "kshell"], env=env, encoding="utf-8",
                          timeout=20, dimensions=(40, 120))  # fmt: skip
    try:
        child.expect("kshell:default>")
        child.send("etcd get /k\r")
        child.expect("started")
        child.sendcontrol("c")
        child.expect("kshell:default>")
        assert gone(int(pidfile.read_text()))
        child.send("context list\r")
        child.expect(r"\* default")
        child.expect("kshell:default>")  # Ctrl-D typed before the prompt is the tty's EOF
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
