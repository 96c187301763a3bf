"""Running the pinned fleetctl for the fleet commands: bounded, its stderr made readable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kshell import CommandError, ToolResult

from . import settings, tables
from .messages import Stderr, split_stderr
from .tools import FLEETCTL
from .version import newer_line


@dataclass
class Result:
    status: int
    stdout: str = ""
    err: Stderr = field(default_factory=Stderr)
    raw: ToolResult | None = None

    @property
    def ok(self) -> bool:
        return self.status == 0


def safety_timeout(session, extra: float = 10.0) -> float:
    """Longer than fleetctl can take on its own: the version check and the command,
    each retrying for ``--request-timeout``, plus ``extra``."""
    return 2 * settings.request_timeout(session.context) + extra


def announce_version(session, err: Stderr) -> None:
    """fleetctl's ``####`` banner said the cluster is newer: one line, once per session."""
    if not err.banner:
        return
    cluster = err.cluster_version or "newer"
    key = (session.context.name, cluster)
    seen = session.state("fleet").setdefault("announced", set())
    if key in seen:
        return
    seen.add(key)
    session.warn(newer_line(cluster, FLEETCTL.version))


def where(session) -> str:
    text = settings.endpoint(session.context)
    tunnel = session.context.get("fleet.tunnel")
    return f"{text} (through the tunnel {tunnel})" if tunnel else text


def unreachable_message(session, err: Stderr) -> str:
    last = err.messages[-1] if err.messages else "no answer"
    return (
        f"cannot reach etcd at {where(session)}: {last}; "
        "check the cluster, or `context set fleet.endpoint URL`"
    )


def run(
    session,
    args: Sequence[str],
    *,
    timeout: float | None = -1,
    quiet: bool = False,
    show_stdout: bool = True,
    announce: bool = True,
) -> Result:
    """Run fleetctl captured; show its messages (not its logs, not the banner).

    ``timeout=-1`` means the safety timeout; ``None`` no timeout. With ``quiet``
    nothing is printed but the version line. An unreachable etcd raises
    CommandError with one line naming the endpoint (unless ``quiet``).
    """
    if timeout == -1:
        timeout = safety_timeout(session)
    res = session.run("fleetctl", list(args), capture=True, timeout=timeout)
    err = split_stderr(res.stderr)
    if announce:
        announce_version(session, err)
    result = Result(res.status, res.stdout, err, res)
    if quiet:
        return result
    if res.status != 0 and err.unreachable:
        raise CommandError(unreachable_message(session, err), res.status)
    if show_stdout and res.stdout:
        session.out.write(res.stdout if res.stdout.endswith("\n") else res.stdout + "\n")
        session.out.flush()
    for line in err.messages:
        session.warn(line)
    return result


def interactive(session, args: Sequence[str]) -> int:
    """Hand the terminal to fleetctl (ssh, journal -f, status): output is not filtered."""
    return session.run("fleetctl", list(args), terminal=True).status


def listing(
    session, name: str, *, quiet: bool = False, timeout: float | None = -1, announce: bool = True
) -> Result:
    """A list command with its legend (the columns are cut at the header's column starts)
    and ``--full`` (whole IDs and hashes; kshell shortens them itself)."""
    return run(
        session, [name, "--full"], quiet=quiet, show_stdout=False, timeout=timeout,
        announce=announce,
    )  # fmt: skip


def unit_files(session, *, timeout: float | None = -1) -> list[tables.UnitFile] | None:
    """The registry's unit files, or None when fleetctl could not list them."""
    res = listing(session, "list-unit-files", quiet=True, timeout=timeout)
    return tables.unit_files(res.stdout) if res.ok else None


def unit_states(session, *, timeout: float | None = -1) -> Result:
    return listing(session, "list-units", quiet=True, timeout=timeout)
