"""``doctor`` checks and the ``status`` line for rudder."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

from kshell import Check, CommandError, Session

from . import netconf
from .commands import CREATE_HINT, read_leases
from .store import CONFIG_KEY, MACHINES_KEY, SUBNETS_KEY
from .store import etcd as context_etcd

if TYPE_CHECKING:
    from kshell import Etcd

# Networks suggested when the configured one overlaps the hosts.
_CANDIDATES = ("10.0.0.0/16", "10.244.0.0/16", "172.30.0.0/16", "192.168.128.0/17")


def machines_key(session: Session) -> str:
    """Where fleet registers its machines: under the context's ``fleet.etcd-key-prefix``
    (fleetctl's ``--etcd-key-prefix``) when it sets one, else fleet's default."""
    prefix = session.context.get("fleet.etcd-key-prefix") or MACHINES_KEY.rsplit("/", 1)[0]
    return "/" + prefix.strip("/") + "/machines"


def machines(etcd: Etcd, key: str = MACHINES_KEY) -> dict[str, str | None]:
    """fleet's machines under ``key``: ID → public IP (None when unreadable)."""
    found: dict[str, str | None] = {}
    for node in etcd.leaves(key):
        parts = node.key.rstrip("/").split("/")
        if parts[-1] == "object" and len(parts) >= 2:
            found[parts[-2]] = netconf.lease_public_ip(node.value)
    return found


def _short(machine_id: str) -> str:
    return machine_id[:8] + "..." if len(machine_id) > 8 else machine_id


def checks(session: Session) -> list[Check]:
    etcd = context_etcd(session)
    try:
        raw = etcd.get(CONFIG_KEY)
    except CommandError as e:
        return [Check("network config", "fail", e.message, "context set etcd.endpoint URL")]
    if raw is None:
        return [Check("network config", "fail", f"{CONFIG_KEY} is missing", CREATE_HINT)]
    out: list[Check] = []
    cfg: netconf.NetConfig | None
    try:
        cfg = netconf.parse_config(raw)
    except netconf.NetConfigError as e:
        cfg = None
        out.append(Check(
            "network config", "fail", "; ".join(e.problems),
            "rudder config set --network CIDR … --force",
        ))  # fmt: skip
    else:
        if cfg.notes:
            out.append(Check("network config", "warn", "; ".join(cfg.notes),
                             "rudder config set … --force (writes only known keys)"))  # fmt: skip
        else:
            out.append(Check("network config", "ok", f"{cfg.network}, /{cfg.subnet_len} subnets"))
    try:
        leases = read_leases(etcd)
        hosts = machines(etcd, machines_key(session))
    except CommandError as e:
        out.append(Check("leases", "fail", e.message, "etcd health"))
        return out
    out += _lease_checks(cfg, leases, hosts)
    if cfg is not None:
        out += _overlap_checks(cfg, hosts)
    return out


def _lease_checks(
    cfg: netconf.NetConfig | None, leases: list[netconf.Lease], hosts: dict[str, str | None]
) -> list[Check]:
    out: list[Check] = []
    leased = {lease.public_ip for lease in leases if lease.public_ip}
    ips = {ip for ip in hosts.values() if ip}
    without = [f"{_short(m)} ({ip})" for m, ip in sorted(hosts.items()) if ip and ip not in leased]
    if without:
        out.append(Check(
            "leases vs machines", "warn",
            f"no lease for fleet machine(s) {', '.join(without)}",
            "is rudder.service running there? `rudder units` renders it; "
            "`fleetctl journal rudder.service`",
        ))  # fmt: skip
    orphans = [
        f"{lease.subnet or lease.key} ({lease.public_ip or 'no PublicIP'})"
        for lease in leases
        if lease.public_ip not in ips
    ]
    if orphans:
        out.append(Check(
            "leases vs machines", "warn",
            f"lease(s) with no fleet machine: {', '.join(orphans)}",
            "a node that left, or one that runs no fleet; the lease expires with its TTL "
            f"(or `etcdctl rm {SUBNETS_KEY}/<subnet>`)",
        ))  # fmt: skip
    if cfg is not None:
        outside = [
            str(lease.subnet or lease.key)
            for lease in leases
            if lease.subnet is None or not lease.subnet.subnet_of(cfg.network)
        ]
        if outside:
            out.append(Check(
                "leases in network", "warn",
                f"lease(s) outside {cfg.network}: {', '.join(outside)} (from an older config?)",
                "`fleetctl ssh MACHINE sudo systemctl restart rudder.service` on those nodes; "
                "stale leases expire with their TTL",
            ))  # fmt: skip
    if not out:
        detail = f"{len(leases)} lease(s), {len(hosts)} fleet machine(s), all matched"
        out.append(Check("leases vs machines", "ok", detail))
    return out


def _overlap_checks(cfg: netconf.NetConfig, hosts: dict[str, str | None]) -> list[Check]:
    ips = sorted({IPv4Address(ip) for ip in hosts.values() if ip})
    if not ips:
        return []
    inside = [str(ip) for ip in ips if ip in cfg.network]
    if not inside:
        return [Check("host network", "ok", f"{cfg.network} is clear of the machines' addresses")]
    free = next((c for c in _CANDIDATES if not any(ip in IPv4Network(c) for ip in ips)), None)
    fix = (
        f"rudder config set --network {free} --force, then restart rudder and docker on every node"
        if free
        else "rudder config set --network CIDR --force, with a CIDR that holds none of the "
        "machines' addresses"
    )
    return [Check(
        "host network", "warn",
        f"{cfg.network} overlaps the machines' own addresses: {', '.join(inside)}",
        fix,
    )]  # fmt: skip


def status(session: Session) -> list[str]:
    etcd = context_etcd(session, timeout=3.0)
    try:
        raw = etcd.get(CONFIG_KEY)
        if raw is None:
            return [f"no network config (create it: {CREATE_HINT})"]
        count = len(read_leases(etcd))
    except CommandError as e:
        return [e.message]
    try:
        cfg = netconf.parse_config(raw)
    except netconf.NetConfigError as e:
        return [f"invalid network config: {e.problems[0]}; {count} leases"]
    return [f"network {cfg.network}, {count} lease{'' if count == 1 else 's'}"]
