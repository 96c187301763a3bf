"""The operator's side of the kube plugin: the SSH tunnel, the unit set, master health, waits.

What the plugin's hooks include from here: :func:`commands`, :func:`settings`,
:func:`status` and :func:`checks`. Cheap to import: the handlers' modules (which use
requests and subprocesses) load on first use.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from kshell import Candidate, Check, Command, Setting, lazy

UNIT_VERSIONS = ("v0.3",)


def _lazy(module: str, name: str):
    return lazy(f"{__package__}.{module}", name)


def _grace(value: str) -> str:
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 3600:
        raise ValueError("the grace must be between 0 and 3600 seconds")
    return value.strip()


def settings() -> list[Setting]:
    return [
        Setting(
            "kube.tunnel.host",
            "[USER@]HOST[:PORT] of the master for `kube tunnel open` (user core by default)",
            validate=_lazy("tunnel", "validate_target"),
        ),
        Setting(
            "kube.tunnel.remote-port", "the API server's port on the master (the tunnel's far end)",
            default="8080", validate=_lazy("tunnel", "validate_port"),
        ),
        Setting(
            "kube.tunnel.local-port", "the tunnel's local port on 127.0.0.1 (auto: a free one)",
            default="auto", validate=_lazy("tunnel", "validate_local_port"),
        ),
        Setting("kube.tunnel.ssh", "the ssh client the tunnel runs", default="ssh"),
        Setting(
            "kube.node-metadata", "fleet metadata of the Kubernetes machines (kubelet, proxy)",
            default="role=kubernetes", validate=_lazy("units", "metadata"),
        ),
        Setting(
            "kube.scheduling-grace",
            "seconds a pod may go without a host before doctor says no scheduler runs",
            default="15", validate=_grace,
        ),
    ]  # fmt: skip


def _complete_target(session, prefix: str) -> list[Candidate]:
    """The configured target, and the machine fleet runs the apiserver on (cached)."""

    def apiserver_ip():
        from .health import apiserver_ip

        return apiserver_ip(session) or ""

    found = []
    host = session.context.get("kube.tunnel.host")
    if host:
        found.append(Candidate(host, "kube.tunnel.host"))
    ip = session.cached("kube:apiserver-ip", apiserver_ip, ttl=30.0)
    if ip and f"core@{ip}" != host:
        found.append(Candidate(f"core@{ip}", "runs kube-apiserver.service"))
    return [c for c in found if c.text.startswith(prefix)]


def _complete_etcd(session, prefix: str) -> list[str]:
    found = []
    for key in ("etcd.endpoint", "fleet.endpoint"):
        value = session.context.get(key)
        if value and value.startswith(prefix) and value not in found:
            found.append(value)
    return found


def _open_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "target",
        nargs="?",
        metavar="USER@HOST",
        help="the master to tunnel through (default: kube.tunnel.host, else the machine fleet "
        "runs kube-apiserver.service on; user core)",
    )
    p.add_argument("--local-port", type=int, metavar="N", help="local port (default: a free one)")
    p.add_argument("--keep", action="store_true", help="keep the tunnel open after kshell exits")
    p.add_argument(
        "--timeout", type=float, default=20.0, metavar="S",
        help="seconds to wait for the API to answer through it (default 20)",
    )  # fmt: skip


def _render_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--etcd", metavar="URL", help="etcd the units use (default: etcd.endpoint)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--master-metadata",
        metavar="K=V",
        help="place the apiserver on a machine with this fleet metadata (default role=kubernetes)",
    )
    where.add_argument("--master-machine", metavar="ID", help="place the apiserver on this machine")
    p.add_argument(
        "--node-metadata",
        metavar="K=V",
        help="metadata of the machines that run kubelet and proxy (default role=kubernetes)",
    )
    p.add_argument("--version", choices=UNIT_VERSIONS, default="v0.3", help="Kubernetes version")
    p.add_argument("--download-base", metavar="URL", help="where the units fetch the binaries")
    p.add_argument("--register-url", metavar="URL", help="where kube-register is fetched from")
    p.add_argument(
        "--fleet-endpoint",
        metavar="URL",
        default="unix:///var/run/fleet.sock",
        help="fleet's API for kube-register (default unix:///var/run/fleet.sock)",
    )
    p.add_argument("--out", metavar="DIR", help="write the unit files into DIR (else print)")
    p.add_argument("--force", action="store_true", help="replace different existing files")


def _wait_minions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("count", type=int, metavar="N", help="how many minions to wait for")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S", help="default 120")


def _wait_pod_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="the pod's ID")
    p.add_argument("--state", choices=("Waiting", "Running", "Terminated"), default="Running")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S", help="default 120")


def _dry(what: str | Callable[[argparse.Namespace], str], handler):
    """In a dry run, say what would be waited for (from the line's arguments, like
    ``fleet wait``'s ``+ wait for …``) and contact nothing."""

    def run(session, args):
        if session.dry_run:
            session.echo(f"+ {what if isinstance(what, str) else what(args)}")
            return 0
        return handler(session, args)

    return run


def commands() -> list[Command]:
    return [
        Command(
            "kube tunnel open", "Open an SSH tunnel to the API server and use it as the master",
            _lazy("tunnel", "open_tunnel"), arguments=_open_args,
            completers={"target": _complete_target},
            description="Runs ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:8080 USER@HOST, waits until "
            "the API answers through it, and records it: while it is open the context's "
            "master is its local end. It closes when kshell exits unless --keep.",
        ),
        Command(
            "kube tunnel status", "Say whether the context's tunnel is alive and answering",
            _dry("kube tunnel status", _lazy("tunnel", "tunnel_status")), read_only=True,
        ),
        Command("kube tunnel close", "Close the context's tunnel", _lazy("tunnel", "close_tunnel")),
        Command(
            "kube units render", "Render the Kubernetes-on-fleet unit set (six units)",
            _lazy("units", "render_command"), arguments=_render_args,
            completers={"etcd": _complete_etcd},
            description="kube-apiserver, kube-scheduler, kube-controller-manager and "
            "kube-register on the master; kube-kubelet and kube-proxy on every kubernetes "
            "machine. A different existing file is replaced only with --force.",
        ),
        Command(
            "kube wait minions", "Wait until N minions are registered",
            _dry(lambda a: f"wait up to {a.timeout:g}s for {a.count} minion(s) to be registered",
                 _lazy("waits", "wait_minions")),
            arguments=_wait_minions_args, read_only=True,
        ),
        Command(
            "kube wait pod", "Wait until a pod reaches a state",
            _dry(lambda a: f"wait up to {a.timeout:g}s for pod {a.id} to be {a.state}",
                 _lazy("waits", "wait_pod")),
            arguments=_wait_pod_args, read_only=True,
        ),
    ]  # fmt: skip


def status(session) -> list[str]:
    from .health import status as lines

    return lines(session)


def checks(session) -> list[Check]:
    from .health import checks as found

    return found(session)
