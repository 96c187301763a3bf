"""kube tunnel: ssh port forwarding to the API server, its record, its life and its failures.

No sshd: tests/standins/ssh parses the -L forward like ssh and forwards on loopback to the
API server (the `apiserver` fixture: the stand-in, or the real v0.3 one with
KSHELL_TEST_APISERVER). One test runs the real ssh against a closed loopback port.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import STANDINS
from kshell_plugins.kube import tunnel
from kshell_plugins.kube.master import master_url
from kubefixtures import KubeShell

import kshell
from kshell.sandbox import free_port

SSH = str(STANDINS / "ssh")
UNREACHABLE = "http://127.0.0.1:1"  # kube.master when the tunnel must be what answers


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def settings(apiserver, **more) -> dict[str, str]:
    port = apiserver.url.rsplit(":", 1)[1]
    return {
        "kube.master": UNREACHABLE,
        "kube.tunnel.ssh": SSH,
        "kube.tunnel.remote-port": port,
        **more,
    }


def kshell_c(home: Path, line: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "KSHELL_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kshell", "-c", line],
        env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def ssh_pid(out: str) -> int:
    return int(out.split("ssh pid ", 1)[1].split(")", 1)[0])


@pytest.fixture(autouse=True)
def _no_tunnel_left(home):
    """Whatever a test did (or failed to do), no recorded ssh outlives it."""
    yield
    rec = tunnel.load("default")
    if rec is not None:
        tunnel._end(rec)


@pytest.fixture
def shell(apiserver, home):
    sh = KubeShell(home, settings(apiserver))
    yield sh
    sh.session.close()  # what kshell does on exit


# -- pure parts ----------------------------------------------------------------------------


def test_target_parsing():
    assert tunnel.parse_target("10.1.0.77") == ("core@10.1.0.77", None)
    assert tunnel.parse_target("admin@10.1.0.77:2222") == ("admin@10.1.0.77", 2222)
    assert tunnel.parse_target("core@[::1]:22") == ("core@::1", 22)
    for bad in ("", "core@", "10.1.0.77:99999", "-oProxyCommand=x", "a b"):
        with pytest.raises(ValueError):
            tunnel.parse_target(bad)


def test_ssh_argv_is_a_list_with_the_forward_and_options():
    argv = tunnel.ssh_argv("ssh", "core@10.1.0.77", None, 18080, 8080)
    assert argv[:4] == ["ssh", "-N", "-L", "127.0.0.1:18080:127.0.0.1:8080"]
    opts = [argv[i + 1] for i, w in enumerate(argv) if w == "-o"]
    assert "ExitOnForwardFailure=yes" in opts and "BatchMode=yes" in opts
    assert any(o.startswith("ServerAliveInterval=") for o in opts)
    assert argv[-1] == "core@10.1.0.77"
    assert tunnel.ssh_argv("ssh", "core@h", 2222, 1, 2)[-3:] == ["-p", "2222", "core@h"]


def test_settings_are_validated(shell):
    assert shell.run("context set kube.tunnel.host core@10.1.0.77:22")[0] == 0
    status, _, err = shell.run("context set kube.tunnel.host 'a b'")
    assert status == 2 and "[USER@]HOST[:PORT]" in err
    assert shell.run("context set kube.tunnel.local-port 99999")[0] == 2
    assert shell.run("context set kube.tunnel.local-port auto")[0] == 0


def test_dry_run_prints_the_ssh_argv_and_runs_nothing(apiserver, home):
    sh = KubeShell(home, settings(apiserver), dry_run=True)
    status, out, _ = sh.run("kube tunnel open core@10.1.0.77 --local-port 18080")
    assert status == 0
    assert f"{SSH} -N -L 127.0.0.1:18080:127.0.0.1:" in out
    assert out.rstrip().endswith("core@10.1.0.77")
    assert tunnel.load("default") is None


# -- the lifecycle -----------------------------------------------------------------------------


def test_open_status_kubecfg_close(shell, apiserver, home):
    apiserver.create_pod("hello-pod")
    assert master_url(shell.session.context) == UNREACHABLE
    status, out, err = shell.run("kube tunnel open core@127.0.0.1")
    assert status == 0, err
    assert "Kubernetes v0.3" in out and "core@127.0.0.1" in out
    rec = tunnel.load("default")
    assert rec is not None and rec.pid == ssh_pid(out) and rec.target == "core@127.0.0.1"
    assert rec.argv[0] == SSH and "-N" in rec.argv and rec.forward in rec.argv
    # The context's master is now the tunnel's end, for REST reads and for kubecfg.
    assert master_url(shell.session.context) == rec.local_url
    status, out, _ = shell.run("env kubecfg")
    assert f"flags: -h {rec.local_url}" in out
    status, out, err = shell.run("kubecfg list pods")
    assert status == 0, err
    assert "hello-pod" in out
    status, out, _ = shell.run("kube tunnel status")
    assert status == 0
    assert "alive" in out and "core@127.0.0.1" in out and "API answers: Kubernetes v0.3" in out
    # Another kshell process sees it.
    other = kshell_c(home, "kube tunnel status")
    assert other.returncode == 0, other.stderr
    assert "core@127.0.0.1" in other.stdout and "alive" in other.stdout
    status, out, _ = shell.run("kube tunnel close")
    assert status == 0 and "closed the tunnel to core@127.0.0.1" in out
    assert wait_dead(rec.pid) and not port_open(rec.local_port)
    assert tunnel.load("default") is None
    assert master_url(shell.session.context) == UNREACHABLE
    assert f"flags: -h {UNREACHABLE}" in shell.run("env kubecfg")[1]
    status, out, _ = shell.run("kube tunnel status")
    assert status == 1 and "no tunnel" in out


def test_opening_twice_to_the_same_host_keeps_the_first(shell):
    assert shell.run("kube tunnel open core@127.0.0.1")[0] == 0
    first = tunnel.load("default")
    status, out, _ = shell.run("kube tunnel open 127.0.0.1")
    assert status == 0 and "already open" in out
    assert tunnel.load("default").pid == first.pid
    status, _, err = shell.run("kube tunnel open other@127.0.0.1")
    assert status == 1 and "kube tunnel close" in err


def test_the_target_comes_from_the_setting(shell):
    status, _, err = shell.run("kube tunnel open")
    assert status == 2 and "kube.tunnel.host" in err
    assert shell.run("context set kube.tunnel.host 127.0.0.1")[0] == 0
    status, out, err = shell.run("kube tunnel open")
    assert status == 0, err
    assert tunnel.load("default").target == "core@127.0.0.1"  # the 2014 user


def test_session_exit_closes_the_tunnel(shell):
    status, out, _ = shell.run("kube tunnel open core@127.0.0.1")
    assert status == 0
    pid = ssh_pid(out)
    shell.session.close()
    assert wait_dead(pid)
    assert tunnel.load("default") is None


def test_kshell_exit_closes_it_unless_kept(apiserver, home):
    KubeShell(home, settings(apiserver))  # writes the config
    done = kshell_c(home, "kube tunnel open core@127.0.0.1")
    assert done.returncode == 0, done.stderr
    assert "closes when kshell exits" in done.stdout
    pid = ssh_pid(done.stdout)
    assert wait_dead(pid)
    assert tunnel.load("default") is None

    kept = kshell_c(home, "kube tunnel open core@127.0.0.1 --keep")
    assert kept.returncode == 0, kept.stderr
    pid = ssh_pid(kept.stdout)
    try:
        assert pid_alive(pid)
        status = kshell_c(home, "kube tunnel status")
        assert status.returncode == 0 and "kept after exit" in status.stdout
        # kubecfg in yet another process goes through it.
        listed = kshell_c(home, "kubecfg list minions")
        assert listed.returncode == 0, listed.stderr
        assert "10.0.0.5" in listed.stdout
        closed = kshell_c(home, "kube tunnel close")
        assert closed.returncode == 0 and "closed" in closed.stdout
        assert wait_dead(pid)
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_dead_tunnel_is_reported_and_cleaned(shell):
    status, out, _ = shell.run("kube tunnel open core@127.0.0.1")
    assert status == 0
    pid = ssh_pid(out)
    os.kill(pid, signal.SIGKILL)
    assert wait_dead(pid)
    status, out, _ = shell.run("kube tunnel status")
    assert status == 1
    assert "is dead" in out and "kube tunnel open" in out
    assert tunnel.load("default") is None
    assert master_url(shell.session.context) == UNREACHABLE


def test_a_tunnel_left_by_a_dead_kshell_is_closed(apiserver, home):
    """A record opened without --keep whose kshell died (SIGKILL, no exit hooks)."""
    KubeShell(home, settings(apiserver))
    gone = subprocess.Popen(["true"])
    gone.wait()
    local, remote = free_port(), int(apiserver.url.rsplit(":", 1)[1])
    argv = tunnel.ssh_argv(SSH, "core@127.0.0.1", None, local, remote)
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        rec = tunnel.Record("default", "core@127.0.0.1", None, local, remote, proc.pid, gone.pid,
                            False, time.time(), argv)  # fmt: skip
        tunnel._save(rec)
        done = kshell_c(home, "kube tunnel status")
        assert done.returncode == 1
        assert "exited without --keep" in done.stdout
        proc.wait(timeout=5)
        assert tunnel.load("default") is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- failures ---------------------------------------------------------------------------------


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_port_in_use_is_ssh_s_own_reason(shell, apiserver):
    # What listens there is itself a Kubernetes API server: it must not pass for the tunnel.
    port = apiserver.url.rsplit(":", 1)[1]
    status, _, err = shell.run(f"kube tunnel open core@127.0.0.1 --local-port {port}")
    assert status == 1
    line = one_line(err)
    assert "ssh to core@127.0.0.1 failed" in line and "Address already in use" in line
    assert tunnel.load("default") is None


def test_denied_and_unreachable_hosts(shell, monkeypatch):
    monkeypatch.setenv("SSH_STANDIN_DENY", "1")
    status, _, err = shell.run("kube tunnel open core@127.0.0.1")
    assert status == 1 and "Permission denied (publickey)" in one_line(err)
    monkeypatch.delenv("SSH_STANDIN_DENY")
    status, _, err = shell.run(f"kube tunnel open core@127.0.0.1:{free_port()}")
    assert status == 1 and "Connection refused" in one_line(err)
    assert tunnel.load("default") is None


def test_no_ssh_client_is_one_line(shell):
    shell.run("context set kube.tunnel.ssh /nonexistent/ssh")
    status, _, err = shell.run("kube tunnel open core@127.0.0.1")
    assert status == 127 and "no ssh client" in one_line(err)


class _NotKubernetes(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"ok" if self.path == "/healthz" else b"<html>hello</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_kubernetes_does_not_count(shell):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotKubernetes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shell.run(f"context set kube.tunnel.remote-port {server.server_address[1]}")
        status, _, err = shell.run("kube tunnel open core@127.0.0.1 --timeout 1.5")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 1
    line = one_line(err)
    assert "no Kubernetes API server answered" in line and "not as a Kubernetes API server" in line
    assert tunnel.load("default") is None


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client installed")
def test_the_real_ssh_fails_clearly_on_a_closed_port(shell):
    port = free_port()  # nothing listens there
    shell.run(f"context set kube.tunnel.ssh {shutil.which('ssh')}")
    status, _, err = shell.run(f"kube tunnel open core@127.0.0.1:{port} --timeout 15")
    assert status == 1
    line = one_line(err)
    assert f"ssh to core@127.0.0.1:{port} failed (exit 255)" in line
    assert f"port {port}: Connection refused" in line
    assert tunnel.load("default") is None


# -- the plugin API it uses -------------------------------------------------------------------


def test_state_dir_is_per_plugin_under_kshell_home(home):
    path = kshell.state_dir("kube")
    assert path.is_dir() and path == home / "state" / "plugins" / "kube"
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError):
            kshell.state_dir(bad)


def test_on_exit_callbacks_run_once_last_first(apiserver, home):
    sh = KubeShell(home, settings(apiserver))
    ran = []
    sh.session.on_exit(lambda: ran.append("first"))
    sh.session.on_exit(lambda: ran.append("second"))
    sh.session.on_exit(lambda: 1 / 0)
    sh.session.close()
    sh.session.close()
    assert ran == ["second", "first"]
    assert "on exit: ZeroDivisionError" in sh.err.getvalue()


@pytest.mark.slow
def test_leaving_the_interactive_shell_closes_the_tunnel(apiserver, home):
    """In a real terminal: Ctrl-C on the prompt leaves the tunnel alone, Ctrl-D closes it."""
    pexpect = pytest.importorskip("pexpect")
    KubeShell(home, settings(apiserver))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSHELL_")}
    env.update(KSHELL_HOME=str(home), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "kshell"], env=env, encoding="utf-8",
                          timeout=20, dimensions=(40, 120))  # fmt: skip
    pid = None
    try:
        child.expect("kshell:default>")
        child.sendline("kube tunnel open core@127.0.0.1")
        child.expect(r"ssh pid (\d+)\)")
        pid = int(child.match.group(1))
        child.expect("kshell:default>")
        child.send("\x03")  # Ctrl-C on the prompt
        child.expect("kshell:default>")
        assert pid_alive(pid)
        child.sendline("kube tunnel status")
        child.expect("API answers")
        child.expect("kshell:default>")
        child.sendeof()  # Ctrl-D
        child.expect(pexpect.EOF)
        assert wait_dead(pid)
        assert tunnel.load("default") is None
    finally:
        child.close(force=True)
        if pid and pid_alive(pid):  # a failed test leaves no ssh behind
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_hangup_or_term_still_closes_the_tunnel(apiserver, home, sig):
    """The terminal went away (SIGHUP) or kshell was told to stop (SIGTERM): exit hooks run."""
    pexpect = pytest.importorskip("pexpect")
    KubeShell(home, settings(apiserver))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSHELL_")}
    env.update(KSHELL_HOME=str(home), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "kshell"], env=env, encoding="utf-8",
                          timeout=20, dimensions=(40, 120))  # fmt: skip
    pid = None
    try:
        child.expect("kshell:default>")
        child.sendline("kube tunnel open core@127.0.0.1")
        child.expect(r"ssh pid (\d+)\)")
        pid = int(child.match.group(1))
        child.expect("kshell:default>")
        os.kill(child.pid, sig)
        child.expect(pexpect.EOF)
        assert wait_dead(pid)
        assert tunnel.load("default") is None
    finally:
        child.close(force=True)
        if pid and pid_alive(pid):  # a failed test leaves no ssh behind
            os.kill(pid, signal.SIGKILL)
