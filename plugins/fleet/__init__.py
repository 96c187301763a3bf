"""fleet plugin: the pinned fleetctl 0.8.1 with the context's endpoint, as ``fleet …`` commands.

- settings ``fleet.endpoint`` (``FLEETCTL_ENDPOINT``), ``fleet.tunnel``
  (``FLEETCTL_TUNNEL``), ``fleet.etcd-key-prefix``, ``fleet.request-timeout``,
  ``fleet.strict-host-key-checking``, ``fleet.known-hosts-file``; they become
  fleetctl's global flags, placed before the command name;
- ``fleet machines|units|unit-files`` parse fleetctl's TAB tables into records
  (aligned tables or ``--json``); ``fleet start|load|stop|unload`` never wait
  forever and say which state a unit reached; ``fleet wait`` polls for a state;
- fleetctl's retry logs and its version banner are turned into one line each;
- raw ``fleetctl …`` runs the pinned binary with the context applied.
"""

from __future__ import annotations

from collections import Counter

from kshell import Check, CommandError, ToolEnv, hookimpl, raw_tool

from . import settings
from .tools import FLEETCTL


@hookimpl
def kshell_settings(register) -> None:
    for setting in settings.SETTINGS:
        register(setting)


@hookimpl
def kshell_tools(register) -> None:
    register(FLEETCTL)


@hookimpl
def kshell_tool_env(tool, context):
    if tool == "fleetctl":
        return ToolEnv(args=tuple(settings.global_flags(context)))
    return None


@hookimpl
def kshell_commands(register) -> None:
    from .commands import commands

    for command in commands():
        register(command)
    register(raw_tool("fleetctl", "Run the pinned fleetctl 0.8.1 with the context's endpoint"))


def _counts(counter: Counter) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counter.items(), key=lambda kn: (-kn[1], kn[0])))


def _machines(session):
    """(machine objects or None, error text): from etcd, or via fleetctl through a tunnel."""
    from . import client, registry, tables

    ctx = session.context
    if ctx.get("fleet.tunnel"):
        res = client.listing(session, "list-machines", quiet=True)
        if not res.ok:
            return None, client.unreachable_message(session, res.err)
        return [
            registry.MachineObject(m.machine, m.ip, m.metadata) for m in tables.machines(res.stdout)
        ], None
    try:
        return registry.machine_objects(
            settings.endpoint(ctx),
            settings.prefix(ctx),
            timeout=min(settings.request_timeout(ctx), 3),
        ), None
    except registry.RegistryError as e:
        return None, str(e)


@hookimpl
def kshell_status(session):
    from . import client, tables, version

    if session.dry_run:
        return ["not queried in a dry run"]
    lines = [f"endpoint {client.where(session)}"]
    machines, error = _machines(session)
    if machines is None:
        return [*lines, f"cannot reach etcd: {error}"]
    roles = Counter(m.metadata.get("role", "no role") for m in machines)
    lines.append(f"machines: {len(machines)}" + (f" ({_counts(roles)})" if machines else ""))
    try:
        res = client.unit_states(session)
    except CommandError as e:  # no fleetctl to list units: the lines above still hold
        return [*lines, f"units: not listed ({e.message})"]
    if res.ok:
        states = tables.units(res.stdout)
        by_state = Counter(s.active or "-" for s in states)
        shown = f" (states: {_counts(by_state)})" if states else ""
        lines.append(f"units: {len({s.unit for s in states})}{shown}")
    files = client.unit_files(session)
    if files is not None:
        desired = Counter(f.desired or "-" for f in files)
        lines.append(f"unit files: {len(files)}" + (f" ({_counts(desired)})" if files else ""))
    if not session.context.get("fleet.tunnel"):
        cmp = version.compare(FLEETCTL.version, [m.version for m in machines])
        if cmp.cluster_newer:
            lines.append(
                f"cluster runs fleet {cmp.newest}, newer than the pinned fleetctl "
                f"{FLEETCTL.version}"
            )
    return lines


@hookimpl
def kshell_checks(session):
    from . import client, version

    ctx = session.context
    checks = []
    raw = ctx.get("fleet.endpoint")
    source = ctx.source("fleet.endpoint")
    if raw:
        try:
            settings.one_endpoint(raw)
        except ValueError as e:
            fix = "context set fleet.endpoint http://HOST:4001"
            if source.startswith("env"):
                fix = "unset FLEETCTL_ENDPOINT, or set it to one URL"
            checks.append(Check("endpoint", "fail", f"{raw}: {e}", fix))
            return checks
    if session.dry_run:
        return checks
    machines, error = _machines(session)
    if machines is None:
        checks.append(
            Check(
                "etcd",
                "fail",
                error or f"no answer from {client.where(session)}",
                "context set fleet.endpoint URL (or fleet.tunnel HOST)",
            )
        )
        return checks
    checks.append(Check("etcd", "ok", f"fleet's registry answers at {client.where(session)}"))
    if not machines:
        checks.append(
            Check(
                "machines",
                "warn",
                "no fleet machines registered",
                "`sudo systemctl start fleet.service` on each machine "
                "(coreos.fleet in its cloud-config)",
            )
        )
    else:
        checks.append(Check("machines", "ok", f"{len(machines)} registered"))
    if ctx.get("fleet.tunnel"):
        checks.append(Check("version", "ok", "not checked (etcd is behind the tunnel)"))
        return checks
    cmp = version.compare(FLEETCTL.version, [m.version for m in machines])
    if cmp.cluster_newer:
        checks.append(
            Check(
                "version",
                "warn",
                f"the cluster runs {cmp.summary()}, newer than the pinned fleetctl "
                f"{FLEETCTL.version} (fleetctl prints its WARNING banner on every command)",
                version.remedy(cmp.newest),
            )
        )
    elif cmp.cluster_older:
        checks.append(
            Check(
                "version",
                "warn",
                f"the cluster runs {cmp.summary()}, older than the pinned fleetctl "
                f"{FLEETCTL.version}",
                f"update CoreOS on the machines to a release with fleet {FLEETCTL.version} "
                "(`sudo update_engine_client -update`), or `bin use fleetctl PATH` with a "
                "fleetctl of their version",
            )
        )
    elif machines:
        checks.append(Check("version", "ok", f"{cmp.summary()}, as pinned"))
    return checks
