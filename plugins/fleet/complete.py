"""Completion for the fleet commands: units, unit files, machines, metadata.

Cluster data comes from etcd's v2 HTTP API (the keys fleetctl itself reads) through
``session.cached``, so a keystroke never waits on the network: the cached answer
now, a refresh in the background. Through an SSH tunnel etcd is out of reach from
here; then the pinned fleetctl lists them (still in the background).
"""

from __future__ import annotations

import re

from kshell import Candidate, CommandError, complete_files

from . import registry, settings, tables

TTL = 10.0
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _source(session) -> tuple[str, str, float]:
    ctx = session.context
    return settings.endpoint(ctx), settings.prefix(ctx), min(settings.request_timeout(ctx), 2.0)


def _via_fleetctl(session, name: str) -> str:
    from . import client

    timeout = client.safety_timeout(session, 2)
    res = client.listing(session, name, quiet=True, timeout=timeout, announce=False)
    if not res.ok:
        raise RuntimeError(f"fleetctl {name} failed")
    return res.stdout


def cluster_units(session) -> list[str]:
    """Unit names in the registry (cached; [] while nothing is known yet)."""
    endpoint, prefix, timeout = _source(session)
    tunneled = bool(session.context.get("fleet.tunnel"))

    def load() -> list[str]:
        if tunneled:
            if session.dry_run:
                return []
            return [f.unit for f in tables.unit_files(_via_fleetctl(session, "list-unit-files"))]
        return registry.unit_names(endpoint, prefix, timeout=timeout)

    return session.cached(f"fleet:units:{endpoint}{prefix}", load, ttl=TTL) or []


def cluster_machines(session) -> list[registry.MachineObject]:
    """Machines (ID, IP, metadata) of the cluster (cached; [] while nothing is known)."""
    endpoint, prefix, timeout = _source(session)
    tunneled = bool(session.context.get("fleet.tunnel"))

    def load() -> list[registry.MachineObject]:
        if tunneled:
            if session.dry_run:
                return []
            return [
                registry.MachineObject(m.machine, m.ip, m.metadata)
                for m in tables.machines(_via_fleetctl(session, "list-machines"))
            ]
        return registry.machine_objects(endpoint, prefix, timeout=timeout)

    return session.cached(f"fleet:machines:{endpoint}{prefix}", load, ttl=TTL) or []


def units(session, prefix: str):
    return [Candidate(u, "unit") for u in cluster_units(session) if u.startswith(prefix)]


def files(session, prefix: str):
    """Unit files (``*.service`` …) and directories under what was typed."""
    return complete_files(prefix, [f".{s}" for s in tables.UNIT_SUFFIXES], "unit file")


def units_and_files(session, prefix: str):
    local = files(session, prefix)
    names = {c.text for c in local}
    return [u for u in units(session, prefix) if u.text not in names] + local


def machines(session, prefix: str):
    out = []
    for m in cluster_machines(session):
        meta = tables.format_metadata(m.metadata)
        short = m.id[:8]
        where = f"{m.public_ip or '-'} {meta}"
        for text, desc in ((short, where), (m.id, where), (m.public_ip, f"{short} {meta}")):
            if text and text.startswith(prefix):
                out.append(Candidate(text, desc))
    return out


def ssh_targets(session, prefix: str):
    return machines(session, prefix) + units(session, prefix)


def roles(session, prefix: str):
    found = sorted({m.metadata["role"] for m in cluster_machines(session) if "role" in m.metadata})
    return [r for r in found if r.startswith(prefix)]


def metadata(session, prefix: str):
    pairs = sorted({f"{k}={v}" for m in cluster_machines(session) for k, v in m.metadata.items()})
    return [p for p in pairs if p.startswith(prefix)]


def resolve_machine(session, target: str) -> str:
    """What fleetctl ssh can look up: an IP becomes its machine's ID, ``abc…...`` → ``abc…``."""
    target = tables.bare_id(target)
    if not _IPV4.match(target):
        return target
    endpoint, prefix, timeout = _source(session)
    if not session.context.get("fleet.tunnel") and session.dry(
        f"GET {endpoint.rstrip('/')}/v2/keys{registry.normalise_prefix(prefix)}machines"
        f"?recursive=true&sorted=true (the machine with IP {target})"
    ):
        return target
    known = cluster_machines(session)
    if not any(m.public_ip == target for m in known):
        try:  # a fresh look: the cache may not be filled yet
            if not session.context.get("fleet.tunnel"):
                known = registry.machine_objects(endpoint, prefix, timeout=timeout)
            elif not session.dry_run:
                listed = tables.machines(_via_fleetctl(session, "list-machines"))
                known = [registry.MachineObject(m.machine, m.ip, m.metadata) for m in listed]
        except Exception:
            return target
    matches = [m.id for m in known if m.public_ip == target]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError(f"no fleet machine has the IP {target} (`fleet machines` lists them)")
    raise CommandError(f"several machines have the IP {target}: {', '.join(matches)}; use an ID")
