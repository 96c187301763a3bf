"""The SSH tunnel to the API server: ``kube tunnel open|status|close``.

The seed ran ``ssh -f -nNT -L 8080:127.0.0.1:8080 core@10.1.0.77`` and then talked to
``localhost:8080``. kshell runs the same ssh (an argv, never a shell line) in its own
session so that Ctrl-C at the prompt does not reach it, waits until a Kubernetes API
server answers through it, and records it in a small JSON file per context under the
plugin's state directory, so that another kshell process sees it too. While a live
record exists, the context's master is the tunnel's local end (``master.master_url``).

A tunnel never outlives the user's intent: it is closed by ``kube tunnel close``, when
the kshell that opened it exits (unless opened with ``--keep``), and a record whose
kshell died without closing it (an orphan) is closed by the next kshell that looks.
A record whose ssh has died is removed and reported.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kshell import CommandError

DEFAULT_USER = "core"  # CoreOS's only login user in 2014
REMOTE_HOST = "127.0.0.1"  # the apiserver, seen from the master (seed: -L 8080:127.0.0.1:8080)
OPEN_TIMEOUT = 20.0
SSH_OPTIONS = (
    "ExitOnForwardFailure=yes",  # a port in use is a failure, not a tunnel that forwards nothing
    "BatchMode=yes",  # no terminal to answer a password or host-key prompt: fail instead
    "ConnectTimeout=10",
    "ServerAliveInterval=15",  # a dead network ends ssh, and its record is seen as dead
    "ServerAliveCountMax=3",
)

# ssh processes this kshell started, by pid: waited for when closed (no zombies).
_children: dict[int, object] = {}


@dataclass
class Record:
    context: str
    target: str
    """``user@host`` as given to ssh."""
    ssh_port: int | None
    local_port: int
    remote_port: int
    pid: int
    owner: int
    """The kshell process that opened it."""
    keep: bool
    started: float
    argv: list[str]

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    @property
    def where(self) -> str:
        port = f":{self.ssh_port}" if self.ssh_port else ""
        return f"{self.target}{port}"

    @property
    def forward(self) -> str:
        return f"127.0.0.1:{self.local_port}:{REMOTE_HOST}:{self.remote_port}"


# -- settings ------------------------------------------------------------------------------


def parse_target(value: str) -> tuple[str, int | None]:
    """``[USER@]HOST[:PORT]`` → (``user@host``, ssh port or None); ValueError when malformed."""
    value = value.strip()
    user, at, host = value.rpartition("@")
    if not at:
        user = DEFAULT_USER
    port: int | None = None
    if host.startswith("["):  # [::1]:22
        inner, _, rest = host[1:].partition("]")
        host = inner
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{value!r} is not [USER@]HOST[:PORT]")
            port = _port(rest[1:])
    elif host.count(":") == 1:
        host, _, text = host.partition(":")
        port = _port(text)
    if not host or not user or any(c.isspace() for c in value) or host.startswith("-"):
        raise ValueError(f"{value!r} is not [USER@]HOST[:PORT], e.g. core@10.1.0.77")
    return f"{user}@{host}", port


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{text!r} is not a port (1-65535)")
    return int(text)


def validate_target(value: str) -> str:
    parse_target(value)
    return value.strip()


def validate_port(value: str) -> str:
    return str(_port(value.strip()))


def validate_local_port(value: str) -> str:
    value = value.strip()
    return "auto" if value == "auto" else validate_port(value)


# -- records ---------------------------------------------------------------------------------


def _dir() -> Path:
    from kshell import state_dir

    return state_dir("kube")


def record_path(context: str) -> Path:
    from urllib.parse import quote

    return _dir() / f"tunnel-{quote(context, safe='')}.json"


def log_path(context: str) -> Path:
    return record_path(context).with_suffix(".log")


def load(context: str) -> Record | None:
    path = record_path(context)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Record(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        _remove(path)  # unreadable: nothing can be done with it
        return None


def _save(rec: Record) -> None:
    import tempfile

    path = record_path(rec.context)
    fd, tmp = tempfile.mkstemp(prefix=".tunnel.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(rec), f)
        os.replace(tmp, path)
    except BaseException:
        _remove(Path(tmp))
        raise


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _pid_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None  # type: ignore[attr-defined]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def alive(rec: Record) -> bool:
    """The recorded ssh still runs (and the pid was not reused by something else)."""
    if not _pid_alive(rec.pid):
        return False
    try:
        with open(f"/proc/{rec.pid}/cmdline", "rb") as f:
            words = f.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return True  # no /proc (macOS): the pid check is all there is
    return rec.forward in words


def orphaned(rec: Record) -> bool:
    """Opened without --keep by a kshell that exited without closing it."""
    return not rec.keep and rec.owner != os.getpid() and not _pid_alive(rec.owner)


def inspect(context: str) -> tuple[Record | None, str]:
    """(record, state) with state ``none``, ``alive``, ``dead`` (ssh gone) or ``orphan``."""
    rec = load(context)
    if rec is None:
        return None, "none"
    if not alive(rec):
        return rec, "dead"
    if orphaned(rec):
        return rec, "orphan"
    return rec, "alive"


def live(context: str) -> Record | None:
    """The context's tunnel when its ssh is alive; a dead or orphaned record is cleaned up."""
    rec, state = inspect(context)
    if state == "alive":
        return rec
    if rec is not None:
        _end(rec)
    return None


def local_master(context: str) -> str | None:
    """``http://127.0.0.1:PORT`` while a tunnel for ``context`` is open, else None."""
    try:
        rec = live(context)
    except OSError:
        return None
    return rec.local_url if rec else None


def _stop(pid: int) -> None:
    """SIGTERM, then SIGKILL after 2 s; reaped when it is our child."""
    child = _children.pop(pid, None)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            return
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if child is not None:
                if child.poll() is not None:  # type: ignore[attr-defined]
                    return
            elif not _pid_alive(pid):
                return
            time.sleep(0.02)
    if child is not None:
        try:
            child.wait(timeout=1)  # type: ignore[attr-defined]
        except Exception:
            pass


def _end(rec: Record) -> None:
    """Stop the record's ssh when it is still that ssh, and forget the record."""
    if alive(rec):
        _stop(rec.pid)
    else:
        _children.pop(rec.pid, None)
    _remove(record_path(rec.context))
    _remove(log_path(rec.context))


# -- ssh ---------------------------------------------------------------------------------------


def ssh_argv(
    ssh: str, target: str, ssh_port: int | None, local_port: int, remote_port: int
) -> list[str]:
    argv = [ssh, "-N", "-L", f"127.0.0.1:{local_port}:{REMOTE_HOST}:{remote_port}"]
    for option in SSH_OPTIONS:
        argv += ["-o", option]
    if ssh_port:
        argv += ["-p", str(ssh_port)]
    return [*argv, target]


def ssh_reason(text: str) -> str:
    """The line of ssh's stderr that says why it failed."""
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith(("Warning: Permanently added", "debug"))
    ]
    for line in lines:
        if "Address already in use" in line or "cannot listen" in line:
            return line
    return lines[-1] if lines else "ssh exited without saying why"


def _can_bind(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as ssh binds its listener
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_log(context: str) -> str:
    try:
        return log_path(context).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# -- commands --------------------------------------------------------------------------------


def _settings(session, args) -> tuple[str, int | None, int, int, str]:
    ctx = session.context
    given = getattr(args, "target", None) or ctx.get("kube.tunnel.host")
    if not given:
        given = _from_fleet(session)
    try:
        target, ssh_port = parse_target(given)
        remote = _port(ctx.get("kube.tunnel.remote-port") or "8080")
        local_text = str(args.local_port) if args.local_port else ctx.get("kube.tunnel.local-port")
        local = free_port() if local_text in (None, "", "auto") else _port(str(local_text).strip())
    except ValueError as e:
        raise CommandError(str(e), 2) from None
    ssh = ctx.get("kube.tunnel.ssh") or "ssh"
    return target, ssh_port, local, remote, ssh


def _from_fleet(session) -> str:
    """The seed looked up the apiserver's machine by hand: ask fleet where it runs."""
    if session.dry_run:
        return f"{DEFAULT_USER}@APISERVER-MACHINE"
    from .health import apiserver_ip

    try:
        ip = apiserver_ip(session)
    except CommandError as e:
        ip, why = None, f" ({e.message})"
    else:
        why = "" if ip else " (fleet runs no active kube-apiserver.service)"
    if not ip:
        raise CommandError(
            "no SSH target for the tunnel: pass USER@HOST (the master, e.g. core@10.1.0.77) "
            f"or `context set kube.tunnel.host core@10.1.0.77`{why}",
            2,
        )
    session.echo(f"the apiserver runs on {ip} (fleet): tunnelling through {DEFAULT_USER}@{ip}")
    return f"{DEFAULT_USER}@{ip}"


def open_tunnel(session, args) -> int:
    if not args.timeout > 0:
        raise CommandError("--timeout takes a number of seconds above 0", 2)
    target, ssh_port, local, remote, ssh = _settings(session, args)
    name = session.context.name
    argv = ssh_argv(ssh, target, ssh_port, local, remote)
    if session.dry_run:
        import shlex

        session.echo("+ " + " ".join(shlex.quote(w) for w in argv))
        return 0
    rec, state = inspect(name)
    if state in ("dead", "orphan") and rec is not None:
        _end(rec)
    elif state == "alive" and rec is not None:
        if (rec.target, rec.ssh_port) == (target, ssh_port):
            session.echo(f"a tunnel to {rec.where} is already open at {rec.local_url}")
            return 0
        raise CommandError(
            f"a tunnel to {rec.where} is already open for context `{name}` at {rec.local_url}; "
            "close it first: kube tunnel close",
            1,
        )
    import shutil
    import subprocess

    if shutil.which(ssh) is None:
        raise CommandError(
            f"no ssh client `{ssh}`: install OpenSSH (e.g. apt-get install openssh-client) "
            "or `context set kube.tunnel.ssh PATH`",
            127,
        )
    busy = not _can_bind(local)
    log = log_path(name)
    try:
        with open(log, "w", encoding="utf-8") as err:
            # Its own session: Ctrl-C on the prompt or a tool must not end the tunnel.
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True,
            )  # fmt: skip
    except OSError as e:
        raise CommandError(f"cannot run {ssh}: {e.strerror}", 126) from None
    _children[proc.pid] = proc
    rec = Record(
        name, target, ssh_port, local, remote, proc.pid, os.getpid(), bool(args.keep),
        time.time(), argv,
    )  # fmt: skip
    _save(rec)
    timeout = float(args.timeout)
    try:
        with session.progress(f"kube tunnel: waiting for the API through {rec.where}"):
            version, last = _wait_for_api(proc, rec.local_url, timeout, busy)
    except BaseException:
        _end(rec)
        raise
    if version is None:
        exited = proc.poll() is not None  # before _end() stops it
        said = _read_log(name)
        _end(rec)
        if exited:
            raise CommandError(
                f"ssh to {rec.where} failed (exit {proc.returncode}): {ssh_reason(said)}", 1
            )
        raise CommandError(
            f"no Kubernetes API server answered through the tunnel to {rec.where} within "
            f"{timeout:g}s ({last}); is kube-apiserver.service running there on port {remote}? "
            "(doctor shows the master's units)",
            1,
        )
    if not rec.keep:
        session.on_exit(lambda: _close_quietly(name, proc.pid))
    session.echo(
        f"tunnel open: {rec.local_url} → {rec.where} → {REMOTE_HOST}:{remote} "
        f"({version}, ssh pid {proc.pid})"
    )
    session.echo(
        f"the master of context `{name}` is {rec.local_url} until `kube tunnel close`"
        + ("" if rec.keep else "; the tunnel closes when kshell exits (--keep keeps it)")
    )
    session.invalidate()
    return 0


def _wait_for_api(proc, url: str, timeout: float, busy: bool) -> tuple[str | None, str]:
    """Poll ``url``/version until a Kubernetes API answers, ssh exits, or time is up.

    When the local port was ``busy`` before ssh started, whatever answers there is not the
    tunnel: only wait for ssh to fail on it (ExitOnForwardFailure) and give its reason."""
    from .health import probe

    deadline = time.monotonic() + timeout
    last = "the local port is in use by another program" if busy else "nothing answered yet"
    while True:
        if proc.poll() is not None:
            return None, last
        if not busy:
            ok, detail = probe(url, timeout=min(2.0, max(deadline - time.monotonic(), 0.1)))
            if ok and proc.poll() is None:
                return detail, detail
            last = detail
        if time.monotonic() >= deadline:
            return None, last
        time.sleep(0.1)


def _close_quietly(context: str, pid: int) -> None:
    rec = load(context)
    if rec is not None and rec.pid == pid:
        _end(rec)
    else:  # the record was replaced or removed: still end our own ssh
        if pid in _children:
            _stop(pid)


def close_tunnel(session, args) -> int:
    name = session.context.name
    if session.dry_run:
        session.echo(f"+ (close the tunnel of context `{name}`)")
        return 0
    rec, state = inspect(name)
    if rec is None:
        session.echo(f"no tunnel is open for context `{name}`")
        return 0
    _end(rec)
    session.invalidate()
    if state == "dead":
        session.echo(f"the tunnel to {rec.where} had already died; removed its record")
    else:
        session.echo(f"closed the tunnel to {rec.where} ({rec.local_url})")
    return 0


def _age(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def tunnel_status(session, args) -> int:
    """Alive and answering → 0; no tunnel, dead, or not answering → 1."""
    name = session.context.name
    rec, state = inspect(name)
    if rec is None:
        session.echo(f"no tunnel for context `{name}` (open one: kube tunnel open [USER@HOST])")
        return 1
    if state == "dead":
        reason = ssh_reason(_read_log(name)) if _read_log(name).strip() else "it exited"
        _end(rec)
        session.echo(
            f"the tunnel to {rec.where} is dead (ssh pid {rec.pid}: {reason}); removed its "
            "record; open it again: kube tunnel open"
        )
        return 1
    if state == "orphan":
        _end(rec)
        session.echo(
            f"closed the tunnel to {rec.where}: the kshell that opened it (pid {rec.owner}) "
            "exited without --keep"
        )
        return 1
    from .health import probe

    ok, detail = probe(rec.local_url, timeout=3.0)
    kept = ", kept after exit" if rec.keep else ""
    session.echo(
        f"tunnel {rec.local_url} → {rec.where} → {REMOTE_HOST}:{rec.remote_port}: alive "
        f"(ssh pid {rec.pid}, up {_age(time.time() - rec.started)}{kept})"
    )
    if ok:
        session.echo(f"API answers: {detail}")
        return 0
    session.echo(f"API does not answer through it: {detail}")
    return 1


def status_line(session) -> str | None:
    """One line for ``status`` about the context's tunnel, or None when there is none."""
    rec, state = inspect(session.context.name)
    if rec is None:
        return None
    if state != "alive":
        return f"tunnel to {rec.where}: {'dead' if state == 'dead' else 'orphaned'}"
    return f"tunnel {rec.local_url} → {rec.where}, ssh pid {rec.pid}"
