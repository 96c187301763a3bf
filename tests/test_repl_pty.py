"""The interactive shell in a real terminal (pexpect), plus its loop without one.

The pty tests are marked slow: they spawn ``python -m kshell`` with an isolated
KSHELL_HOME, ``TERM=xterm`` and ``PROMPT_TOOLKIT_NO_CPR=1`` (pexpect answers no
cursor-position requests), and assert on what a person would see.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import real_etcdctl

import kshell
from kshell import Setting
from kshell.config import load_config
from kshell.host import PluginHost
from kshell.session import ShellSession

PROMPT = "kshell:default>"
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")
TAB, CTRL_C, CTRL_D, UP = "\t", "\x03", "\x04", "\x1b[A"
# prompt_toolkit turns bracketed paste on while it reads a line and off when the line
# is accepted: these mark exactly where a prompt starts and where it ends.
PROMPT_STARTS, PROMPT_ENDS = re.escape("\x1b[?2004h"), re.escape("\x1b[?2004l")


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


# -- a terminal session -----------------------------------------------------------------


class Shell:
    """``python -m kshell`` in a pty, with readable failures."""

    def __init__(self, home: Path, extra_env: dict[str, str] | None = None) -> None:
        pexpect = pytest.importorskip("pexpect")
        self.pexpect = pexpect
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "kshell"],
            env=shell_env(home, extra_env),
            encoding="utf-8",
            codec_errors="replace",
            timeout=15,
            dimensions=(40, 120),
        )
        self.seen = io.StringIO()
        self.child.logfile_read = self.seen

    def expect(self, pattern: str, timeout: float = 15) -> str:
        """Wait for ``pattern`` (a regex) in the output; returns the text before it."""
        try:
            self.child.expect(pattern, timeout=timeout)
        except (self.pexpect.TIMEOUT, self.pexpect.EOF) as e:
            tail = plain(self.seen.getvalue())[-2000:]
            pytest.fail(
                f"expected {pattern!r} ({type(e).__name__}); the terminal showed:\n{tail}",
                pytrace=False,
            )
        return plain(self.child.before)

    def prompt(self) -> str:
        """Wait for a fresh prompt; returns what was printed before it."""
        before = self.expect(PROMPT_STARTS)
        self.expect(re.escape(PROMPT))
        return before

    def send(self, text: str, pause: float = 0.0) -> None:
        self.child.send(text)
        if pause:
            time.sleep(pause)

    def run(self, line: str) -> str:
        """Type ``line`` and Enter; return what it printed before the next prompt."""
        self.send(line + "\r")
        self.expect(PROMPT_ENDS)
        return self.prompt()

    def exit_status(self) -> int | None:
        self.expect(self.pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def shell_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KSHELL_", "ETCDCTL_", "FLEETCTL_")) and k != "KUBERNETES_MASTER"
    }
    env.update(
        KSHELL_HOME=str(home),
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        COLUMNS="120",
        LINES="40",
    )
    env.update(extra or {})
    return env


@pytest.fixture
def shells(tmp_path):
    home = tmp_path / "kshell-home"
    started: list[Shell] = []

    def start(**extra: str) -> Shell:
        shell = Shell(home, extra)
        started.append(shell)
        shell.prompt()
        return shell

    start.home = home  # type: ignore[attr-defined]
    yield start
    for shell in started:
        shell.close()


# -- the shell in a terminal ------------------------------------------------------------------


@pytest.mark.slow
def test_help_runs_and_ctrl_d_exits_0(shells):
    sh = shells()
    out = sh.run("help")
    assert "COMMAND" in out and "DESCRIPTION" in out and "context set" in out
    sh.send(CTRL_D)
    assert sh.exit_status() == 0


@pytest.mark.slow
def test_exit_command_exits_0(shells):
    sh = shells()
    sh.send("exit\r")
    assert sh.exit_status() == 0


@pytest.mark.slow
def test_tab_completes_context_set(shells):
    sh = shells()
    sh.send("context se", pause=0.5)
    sh.send(TAB, pause=0.5)
    # Only `context set ` (with its space) makes this line a valid command.
    out = sh.run("kube.master http://10.0.0.1:8080")
    assert "default: kube.master = http://10.0.0.1:8080" in out


@pytest.mark.slow
def test_tab_typed_at_once_still_takes_the_single_candidate(shells):
    """Tab can come before the candidates (they are computed in a thread while typing)."""
    sh = shells()
    sh.send("context se" + TAB, pause=0.8)
    out = sh.run("kube.master http://10.0.0.2:8080")
    assert "default: kube.master = http://10.0.0.2:8080" in out


@pytest.mark.slow
def test_ctrl_c_on_a_half_typed_line_gives_a_fresh_prompt(shells):
    sh = shells()
    sh.send("context li", pause=0.3)
    sh.send(CTRL_C)
    sh.prompt()
    # Had the half-typed line survived, this would read `context lihistory`.
    out = sh.run("context list")
    assert "* default" in out
    sh.send(CTRL_D)
    assert sh.exit_status() == 0


@pytest.mark.slow
def test_history_persists_and_up_recalls_it(shells):
    sh = shells()
    sh.run("context set kube.master http://10.0.0.9:8080")
    sh.run("context list")
    sh.send(CTRL_D)
    assert sh.exit_status() == 0

    history_file = shells.home / "state" / "history"
    text = history_file.read_text()
    assert "+context set kube.master http://10.0.0.9:8080\n" in text
    assert "+context list\n" in text

    sh = shells()
    out = sh.run("history")
    assert re.search(r"1\s+context set kube.master http://10.0.0.9:8080", out), out
    assert re.search(r"2\s+context list", out), out
    sh.send(UP, pause=0.3)  # `history`
    sh.send(UP, pause=0.3)  # `context list`
    out = sh.run("")
    assert "* default" in out
    sh.send(CTRL_D)
    assert sh.exit_status() == 0


# -- etcd: key completion and Ctrl-C during a watch (needs the etcd plugin) --------------------


def _etcd_plugin_loaded() -> bool:
    host = PluginHost().load("etcd")
    return host.commands.get("etcd get") is not None and host.commands.get("etcd watch") is not None


needs_etcd_plugin = pytest.mark.skipif(
    not _etcd_plugin_loaded(), reason="the etcd plugin (etcd get/watch) is not installed"
)


def _put(url: str, key: str, value: str) -> None:
    data = urllib.parse.urlencode({"value": value}).encode()
    request = urllib.request.Request(f"{url}/v2/keys{key}", data=data, method="PUT")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request) as r:
        json.load(r)


@pytest.fixture
def etcd_shells(shells, etcd):
    """Shells whose context points at the test etcd, running the real etcdctl."""
    import yaml

    home = shells.home
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.yaml").write_text(
        yaml.safe_dump({"binaries": {"etcdctl": real_etcdctl()}})
    )
    subprocess.run(
        [sys.executable, "-m", "kshell", "-c", f"context set etcd.endpoint {etcd.url}"],
        env=shell_env(home),
        check=True,
        capture_output=True,
        timeout=30,
    )
    shells.etcd = etcd
    return shells


def _children(pid: int) -> list[str]:
    """The commands of ``pid``'s child processes."""
    found = subprocess.run(["pgrep", "-a", "-P", str(pid)], capture_output=True, text=True)
    return [line.split(None, 1)[1] for line in found.stdout.splitlines() if " " in line]


@pytest.mark.slow
@needs_etcd_plugin
def test_tab_completes_an_etcd_key(etcd_shells):
    _put(etcd_shells.etcd.url, "/kshell-completion-key", "value-42")
    _put(etcd_shells.etcd.url, "/other/key", "x")
    sh = etcd_shells()
    sh.send("etcd get /kshell-compl", pause=0.8)
    sh.send(TAB, pause=0.5)
    out = sh.run("")
    assert "value-42" in out
    sh.send(CTRL_D)
    assert sh.exit_status() == 0


@pytest.mark.slow
@needs_etcd_plugin
def test_tab_takes_a_single_directory_and_completes_inside_it(etcd_shells):
    _put(etcd_shells.etcd.url, "/drill/down/leaf", "value-7")
    sh = etcd_shells()
    sh.send("etcd get /dri", pause=0.8)
    sh.send(TAB, pause=0.6)  # the one candidate, /drill/, is taken ...
    sh.send(TAB, pause=0.6)  # ... and the next Tab goes on inside it: /drill/down/
    sh.send(TAB, pause=0.6)  # ... and to the only key there
    out = sh.run("")
    assert "value-7" in out
    sh.send(CTRL_D)
    assert sh.exit_status() == 0


@pytest.mark.slow
@needs_etcd_plugin
def test_ctrl_c_during_etcd_watch_returns_to_a_working_prompt(etcd_shells):
    _put(etcd_shells.etcd.url, "/watched", "before")
    sh = etcd_shells()
    pid = sh.child.pid
    sh.send("etcd watch /watched\r")
    deadline = time.monotonic() + 10
    while not any("etcdctl" in c for c in _children(pid)):
        assert time.monotonic() < deadline, f"no etcdctl child; children: {_children(pid)}"
        time.sleep(0.1)
    time.sleep(0.3)
    sh.send(CTRL_C)
    sh.prompt()
    deadline = time.monotonic() + 5
    while any("etcdctl" in c for c in _children(pid)):
        assert time.monotonic() < deadline, f"etcdctl left behind: {_children(pid)}"
        time.sleep(0.1)
    out = sh.run("etcd get /watched")
    assert "before" in out
    sh.send(CTRL_D)
    assert sh.exit_status() == 0


# -- the loop without a terminal (prompt_toolkit pipe input) ---------------------------------


class Endpoints:
    """Settings as the plugins named after them register them (``PLUGIN.NAME``)."""

    def __init__(self, *settings: Setting) -> None:
        self.settings = settings

    @kshell.hookimpl
    def kshell_settings(self, register):
        for setting in self.settings:
            register(setting)


@pytest.fixture
def session(home):
    host = PluginHost().load("")
    host.register(
        Endpoints(Setting("kube.master", "API server", default="http://127.0.0.1:8080")), "kube"
    )
    host.register(
        Endpoints(Setting("etcd.endpoint", "etcd", default="http://127.0.0.1:4001")), "etcd"
    )
    host.register(Endpoints(Setting("demo.secret", "a secret", secret=True)), "demo")
    return ShellSession(host, load_config(), out=io.StringIO(), err=io.StringIO())


def test_toolbar_shows_the_context_and_its_endpoints_in_order(session):
    from kshell.repl import toolbar_parts

    text = "".join(t for _, t in toolbar_parts(session))
    assert text.split() == [
        "context",
        "default",
        "etcd.endpoint",
        "http://127.0.0.1:4001",
        "kube.master",
        "http://127.0.0.1:8080",
    ]
    assert "status 2" in "".join(t for _, t in toolbar_parts(session, 2))


def test_prompt_names_the_context(session):
    from kshell.repl import prompt_text

    assert prompt_text(session) == "kshell:default> "


def _run_loop(session, keys: str) -> int:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from kshell.repl import repl

    with create_pipe_input() as inp:
        inp.send_text(keys)
        with create_app_session(input=inp, output=DummyOutput()):
            return repl(session)


def test_loop_runs_lines_until_exit(session):
    status = _run_loop(session, "context list\rnosuch\rexit\r")
    assert status == 0
    assert session.interactive
    assert session.out.getvalue().splitlines() == ["* default"]
    assert "unknown command `nosuch`" in session.err.getvalue()
    from kshell.history import read_history

    assert read_history() == ["context list", "nosuch", "exit"]


def test_loop_ends_on_ctrl_d_and_ctrl_c_clears_the_line(session):
    status = _run_loop(session, f"context li{CTRL_C}context list\r{CTRL_D}")
    assert status == 0
    assert session.out.getvalue().splitlines() == ["* default"]
    assert "unknown command" not in session.err.getvalue()
