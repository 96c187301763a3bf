"""The ``rudder …`` commands: config, config set, subnets, units."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from kshell import CommandError, CompareFailed, KeyExists, Session, format_table, write_atomic

from . import netconf, units
from .store import CONFIG_KEY, SUBNETS_KEY, etcd

if TYPE_CHECKING:
    from kshell import Etcd

CREATE_HINT = "rudder config set --network 10.0.0.0/16"


# -- rudder config ----------------------------------------------------------------------


def _show_config(session: Session, cfg: netconf.NetConfig) -> None:
    def note(key: str) -> str:
        return "" if key in cfg.given else "  (default)"

    rows = [
        ("network", f"{cfg.network}"),
        ("subnet length", f"/{cfg.subnet_len}{note('SubnetLen')}"),
        ("subnet min", f"{cfg.subnet_min}{note('SubnetMin')}"),
        ("subnet max", f"{cfg.subnet_max}{note('SubnetMax')}"),
        ("hosts", f"{cfg.subnet_count} (one /{cfg.subnet_len} each)"),
        ("backend", f"{cfg.backend}{note('Backend')}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        session.echo(f"{key.ljust(width)}  {value}")
    for remark in cfg.notes:
        session.echo(f"note: {remark}")


def config_show(session: Session, args: argparse.Namespace) -> int:
    raw = etcd(session).get(CONFIG_KEY)
    if session.dry_run:
        return 0
    if raw is None:
        if args.json:
            session.echo(json.dumps({"key": CONFIG_KEY, "present": False}))
        session.warn(f"no rudder network config at {CONFIG_KEY}; create it with `{CREATE_HINT}`")
        return 1
    try:
        cfg = netconf.parse_config(raw)
    except netconf.NetConfigError as e:
        if args.json:
            data = {"key": CONFIG_KEY, "present": True, "raw": raw, "problems": e.problems}
            session.echo(json.dumps(data, indent=2))
        else:
            session.echo(f"{CONFIG_KEY}: {raw}")
            for problem in e.problems:
                session.echo(f"problem: {problem}")
            session.echo("fix: rudder config set --network CIDR … --force")
        return 1
    if args.json:
        data = {"key": CONFIG_KEY, "present": True, "raw": raw, **cfg.as_dict(), "problems": []}
        session.echo(json.dumps(data, indent=2))
    else:
        _show_config(session, cfg)
    return 0


# -- rudder config set -----------------------------------------------------------------------


def config_set(session: Session, args: argparse.Namespace) -> int:
    try:
        new = netconf.build_config(
            args.network, args.subnet_len, args.subnet_min, args.subnet_max, args.backend
        )
    except netconf.NetConfigError as e:
        for problem in e.problems[:-1]:
            session.warn(f"rudder config set: {problem}")
        raise CommandError(e.problems[-1], 2) from None
    value = new.to_json()
    store = etcd(session)
    if session.dry_run:
        store.mk(CONFIG_KEY, value)
        return 0
    old = store.get(CONFIG_KEY)
    if old is None:
        try:
            store.mk(CONFIG_KEY, value)
        except KeyExists:
            raise CommandError(f"{CONFIG_KEY} was created meanwhile; look again") from None
        session.echo(f"created {CONFIG_KEY}: {value}")
        return 0
    try:
        current = netconf.parse_config(old)
    except netconf.NetConfigError:
        current = None
    if current is not None and current.effective() == new.effective():
        session.echo(f"unchanged: {CONFIG_KEY} already says the same ({old})")
        return 0
    if not args.force:
        session.warn(f"{CONFIG_KEY} holds a different config:")
        session.warn(f"  current: {old}")
        session.warn(f"  wanted:  {value}")
        session.warn(
            "replace it with --force; every node's rudder must then be restarted, and "
            "leases from the old network expire on their own"
        )
        return 1
    try:
        store.swap(CONFIG_KEY, old, value)
    except CompareFailed as e:
        raise CommandError(e.message) from None
    session.echo(f"replaced {CONFIG_KEY}: {old} -> {value}")
    session.echo("restart rudder.service (then docker.service) on every node to use it")
    return 0


# -- rudder subnets ---------------------------------------------------------------------


def read_leases(store: Etcd) -> list[netconf.Lease]:
    leases = []
    for node in store.leaves(SUBNETS_KEY):
        leases.append(
            netconf.Lease(
                subnet=netconf.lease_subnet(node.key),
                key=node.key,
                public_ip=netconf.lease_public_ip(node.value),
                ttl=node.ttl,
            )
        )
    return sorted(leases, key=lambda x: (x.subnet is None, x.subnet or 0, x.key))


def subnets(session: Session, args: argparse.Namespace) -> int:
    leases = read_leases(etcd(session))
    if session.dry_run:
        return 0
    if args.json:
        data = [
            {
                "subnet": str(lease.subnet) if lease.subnet else None,
                "key": lease.key,
                "public_ip": lease.public_ip,
                "ttl": lease.ttl,
            }
            for lease in leases
        ]
        session.echo(json.dumps(data, indent=2))
        return 0
    if not leases:
        session.echo(f"no leases under {SUBNETS_KEY} (no rudder has started yet)")
        return 0
    rows = [
        (
            str(lease.subnet) if lease.subnet else lease.key.rsplit("/", 1)[-1] + " (?)",
            lease.public_ip or "?",
            netconf.format_duration(lease.ttl),
        )
        for lease in leases
    ]
    session.echo(format_table(["SUBNET", "PUBLIC IP", "EXPIRES IN"], rows))
    return 0


# -- rudder units ------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` via a temp file and a rename; False when unchanged."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
        pass
    write_atomic(path, text)
    return True


def render_units(session: Session, args: argparse.Namespace) -> int:
    where = args.etcd or session.context.get("etcd.endpoint")
    if not where:
        raise CommandError(
            "no etcd endpoint: pass --etcd URL (e.g. http://10.1.1.245:4001) "
            "or set the context's etcd.endpoint",
            2,
        )
    try:
        etcd = units.normalise_endpoint(where)
        if args.format == "fleet":
            files = units.unit_files(etcd, args.metadata)
        else:
            files = {"rudder-cloud-config.yml": units.cloud_config(etcd)}
    except ValueError as e:
        raise CommandError(str(e), 2) from None
    if units.is_loopback(etcd):
        session.warn(
            f"note: {etcd} is each node's own loopback; the seed's nodes reach etcd at its "
            "address, e.g. --etcd http://10.1.1.245:4001"
        )
    if not args.output:
        for i, (name, text) in enumerate(files.items()):
            if len(files) > 1:
                session.echo(("\n" if i else "") + f"# {name}")
            session.echo(text.rstrip("\n"))
        return 0
    out = Path(args.output).expanduser()
    if session.dry(f"write {', '.join(files)} into {out}"):
        return 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            changed = _write_atomic(out / name, text)
            session.echo(f"{'wrote' if changed else 'unchanged'} {out / name}")
    except OSError as e:
        raise CommandError(f"cannot write to {out}: {e.strerror or e}", 74) from None
    if args.format == "fleet":
        session.echo(f"start them with: fleetctl start {out}/rudder.service {out}/docker.service")
    return 0
