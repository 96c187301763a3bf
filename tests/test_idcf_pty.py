"""idcf in a real terminal: the destroy question, and no key in the history file or the log."""

from __future__ import annotations

import io
import os
import re
import sys

import pytest
from cloudstackfake import API_KEY, SECRET_KEY, CloudStackFake
from idcfshell import write_idcfrc

ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")
PROMPT_STARTS, PROMPT_ENDS = re.escape("\x1b[?2004h"), re.escape("\x1b[?2004l")
CORE_OS = "CoreOS stable 444.5.0"


class Terminal:
    def __init__(self, env: dict[str, str]) -> None:
        self.pexpect = pytest.importorskip("pexpect")
        self.child = self.pexpect.spawn(
            sys.executable, ["-m", "kshell"], env=env, encoding="utf-8", timeout=20,
            dimensions=(40, 160),
        )  # fmt: skip
        self.seen = io.StringIO()
        self.child.logfile_read = self.seen

    def expect(self, pattern: str) -> str:
        try:
            self.child.expect(pattern)
        except (self.pexpect.TIMEOUT, self.pexpect.EOF) as e:
            shown = ANSI.sub("", self.seen.getvalue())[-2000:]
            pytest.fail(f"expected {pattern!r} ({type(e).__name__}); saw:\n{shown}", pytrace=False)
        return ANSI.sub("", self.child.before).replace("\r", "")

    def prompt(self) -> str:
        before = self.expect(PROMPT_STARTS)
        self.expect(re.escape("kshell:default>"))
        return before

    def run(self, line: str) -> str:
        self.child.send(line + "\r")
        self.expect(PROMPT_ENDS)
        return self.prompt()


@pytest.mark.slow
def test_destroy_asks_and_no_key_reaches_history_or_log(tmp_path):
    fake = CloudStackFake().start()
    home = tmp_path / "home"
    home.mkdir()
    write_idcfrc(home, fake.url)
    kshell_home = tmp_path / "kshell-home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KSHELL_", "IDCF_")) and "proxy" not in k.lower()}  # fmt: skip
    env.update(HOME=str(home), KSHELL_HOME=str(kshell_home), KSHELL_PLUGINS="idcf",
               KSHELL_IDCF_POLL_INTERVAL="0", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")  # fmt: skip
    term = Terminal(env)
    try:
        term.prompt()
        out = term.run(f"idcf deploy node1 --template '{CORE_OS}' --offering light.S1 "
                       "--zone tesla")  # fmt: skip
        assert "node1  Running  10.1.0.10" in out
        term.child.send("idcf destroy node1\r")
        term.expect(r"Destroy VM node1 \(.*\)\? \[y/N\] ")
        term.child.send("n\r")
        assert "not destroyed" in term.prompt()
        assert fake.vm("node1")["state"] == "Running"
        term.child.send("idcf destroy node1\r")
        term.expect(r"\[y/N\] ")
        term.child.send("y\r")
        assert "node1: Destroyed" in term.prompt()
        out = term.run("idcf credentials")
        assert "~/.idcfrc [account] secret_key" in out
        term.run("idcf zones --zone nosuch")  # a usage error
        term.child.send("\x04")
        term.child.expect(term.pexpect.EOF)
    finally:
        term.child.close(force=True)
        fake.stop()
    history = (kshell_home / "state" / "history").read_text()
    assert "+idcf deploy node1" in history and "+idcf credentials" in history
    shown = term.seen.getvalue()
    for text in (history, shown, *(p.read_text() for p in kshell_home.rglob("*.log"))):
        assert SECRET_KEY not in text and API_KEY not in text


@pytest.mark.slow
def test_a_wait_shows_progress_and_ctrl_c_leaves_the_job_named(tmp_path):
    fake = CloudStackFake().start()
    home = tmp_path / "home"
    home.mkdir()
    write_idcfrc(home, fake.url)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KSHELL_", "IDCF_")) and "proxy" not in k.lower()}  # fmt: skip
    env.update(HOME=str(home), KSHELL_HOME=str(tmp_path / "kh"), KSHELL_PLUGINS="idcf",
               KSHELL_IDCF_POLL_INTERVAL="0", TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")  # fmt: skip
    term = Terminal(env)
    try:
        term.prompt()
        fake.job_gate.clear()  # the job's answer is held: the wait goes on until released
        term.child.send(f"idcf deploy n1 --template '{CORE_OS}' --offering light.S1 --zone tesla\r")
        term.expect(r"deploying n1 … \d+s \(Ctrl-C stops\)")
        fake.job_gate.set()
        assert "n1  Running  10.1.0.10" in term.prompt()
        fake.job_gate.clear()
        term.child.send("idcf stop n1\r")
        term.expect(r"stopping n1 … \d+s")
        term.child.send("\x03")
        out = term.prompt()
        jobid = list(fake.jobs)[-1]
        assert f"idcf stop: interrupted; stop n1 goes on in the cloud (`idcf job {jobid}`" in out
        fake.job_gate.set()
        assert re.search(rf"job {jobid}: (pending|succeeded) \(.*StopVMCmd\)",
                         term.run(f"idcf job {jobid}"))  # fmt: skip
        term.child.send("\x04")
        term.child.expect(term.pexpect.EOF)
    finally:
        fake.job_gate.set()
        term.child.close(force=True)
        fake.stop()
