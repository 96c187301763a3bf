"""What the ``fleet …`` commands do; imported when one runs, not when kshell starts."""

from __future__ import annotations

import contextlib
import json
import re
import time

from kshell import CommandError, format_table

from . import argv, client, complete, settings, tables
from .tools import FLEETCTL

# -- helpers --


def _show(session, args, headers: list[str], records) -> int:
    """Records as JSON (``--json``) or as an aligned table (``--full``: whole IDs)."""
    if args.json:
        session.echo(json.dumps([r.to_json() for r in records], indent=2))
    else:
        session.echo(format_table(headers, [r.row(args.full) for r in records]))
    return 0


def _listing(session, name: str) -> client.Result | None:
    """A list command's result; None in a dry run (the argv was printed)."""
    res = client.listing(session, name, quiet=True)
    if session.dry_run:
        return None
    if not res.ok:
        raise CommandError(_failure(session, res), res.status or 1)
    return res


def _failure(session, res: client.Result) -> str:
    if res.err.unreachable:
        return client.unreachable_message(session, res.err)
    if res.err.messages:
        return "; ".join(res.err.messages)
    return f"fleetctl exited with status {res.status}"


# -- listings --


def list_machines(session, args) -> int:
    res = _listing(session, "list-machines")
    if res is None:
        return 0
    found = tables.machines(res.stdout)
    wanted: dict[str, list[str]] = {}
    for role in args.role:
        wanted.setdefault("role", []).append(role)
    for key, value in args.meta:
        wanted.setdefault(key, []).append(value)
    found = [m for m in found if m.matches(wanted)]
    return _show(session, args, ["MACHINE", "IP", "METADATA"], found)


def list_units(session, args) -> int:
    res = _listing(session, "list-units")
    if res is None:
        return 0
    return _show(session, args, ["UNIT", "MACHINE", "ACTIVE", "SUB"], tables.units(res.stdout))


def list_unit_files(session, args) -> int:
    res = _listing(session, "list-unit-files")
    if res is None:
        return 0
    headers = ["UNIT", "HASH", "DSTATE", "STATE", "TARGET"]
    return _show(session, args, headers, tables.unit_files(res.stdout))


# -- changing units --


def submit(session, args) -> int:
    return client.run(session, argv.command("submit", (), args.units)).status


def destroy(session, args) -> int:
    return client.run(session, argv.command("destroy", (), args.units)).status


def state_change(name: str):
    def handler(session, args) -> int:
        wanted = argv.DESIRED[name]
        budget = 0.0 if args.no_block else args.timeout
        units = ", ".join(tables.shown(tables.unit_name(u)) for u in dict.fromkeys(args.units))
        waiting = f"fleet {name}: waiting up to {budget:g}s for {units} to be {wanted}"
        with session.progress(waiting) if budget else contextlib.nullcontext():
            res = client.run(
                session,
                argv.state_change(name, args.units, no_block=args.no_block, timeout=args.timeout),
                timeout=client.safety_timeout(session, budget + 10),
                quiet=True,
            )
        if res.status != 0 and res.err.unreachable:
            raise CommandError(client.unreachable_message(session, res.err), res.status)
        if res.stdout:
            session.out.write(res.stdout if res.stdout.endswith("\n") else res.stdout + "\n")
            session.out.flush()
        if args.no_block or session.dry_run:
            for line in res.err.messages:
                session.warn(line)
            return res.status
        files = client.unit_files(session)
        if files is None:  # cannot tell; fleetctl's own word stands
            for line in res.err.messages:
                session.warn(line)
            return res.status
        by_name = {f.unit: f for f in files}
        report, failed = [], False
        for word in dict.fromkeys(args.units):
            unit = tables.unit_name(word)
            f = by_name.get(unit)
            if f is None:
                if name in ("stop", "unload"):
                    report.append(f"{tables.shown(unit)}: not in the registry; nothing to {name}")
                continue  # start/load: fleetctl said why it could not create it
            if f.is_global or f.state == wanted:
                continue
            failed = True
            if f.desired != wanted and res.status != 0 and res.err.messages:
                continue  # fleetctl refused it and said why (e.g. stop of an inactive unit)
            line = f"{tables.shown(unit)}: desired {f.desired or '-'}, current {f.state or '-'}"
            if f.desired == wanted:
                line += (
                    f" (no agent reported {wanted} within {args.timeout:g}s; "
                    "`fleet machines` lists the agents, --timeout S waits longer)"
                )
            report.append(line)
        # fleetctl's "Error waiting for units: timed out …" is what the per-unit lines
        # say better (or no longer true: the unit got there after fleetctl gave up).
        others = [m for m in res.err.messages if not m.startswith("Error waiting for units:")]
        for line in others + report:
            session.warn(line)
        if failed:
            return res.status or 1
        return res.status if others else 0

    return handler


# -- looking at units --


def cat(session, args) -> int:
    return client.run(session, argv.command("cat", (), [args.unit])).status


def status(session, args) -> int:
    fa = argv.command("status", (), args.units)
    if session.interactive:
        return client.interactive(session, fa)
    return client.run(session, fa, timeout=client.safety_timeout(session, 60)).status


def journal(session, args) -> int:
    fa = argv.journal(args.unit, args.lines, args.follow)
    if session.interactive:
        return client.interactive(session, fa)
    if args.follow:  # no end: stream it as it comes
        return session.run("fleetctl", fa).status
    return client.run(session, fa, timeout=client.safety_timeout(session, 60)).status


def ssh(session, args) -> int:
    remote = list(args.command)
    if remote[:1] == ["--"]:
        remote = remote[1:]
    target = complete.resolve_machine(session, args.target)
    fa = argv.ssh(target, remote, args.forward_agent)
    if session.interactive:
        return client.interactive(session, fa)
    return client.run(session, fa, timeout=None).status


# -- version --


def show_version(session, args) -> int:
    from . import registry, version

    res = client.run(session, ["version"], quiet=True, timeout=10)
    if session.dry_run:
        return 0
    m = re.search(FLEETCTL.version_pattern, res.stdout)
    reported = m.group(1) if m else None
    if reported == FLEETCTL.version:
        session.echo(f"fleetctl {reported} (the pinned version)")
    else:
        session.echo(f"fleetctl {reported or 'unknown version'}, not the pinned {FLEETCTL.version}")
    if session.context.get("fleet.tunnel"):
        session.echo("cluster: not checked (etcd is behind the tunnel)")
        return 0
    try:
        objects = registry.machine_objects(
            settings.endpoint(session.context),
            settings.prefix(session.context),
            timeout=settings.request_timeout(session.context),
        )
    except registry.RegistryError as e:
        session.echo(f"cluster: unknown ({e})")
        return 0
    cmp = version.compare(FLEETCTL.version, [o.version for o in objects])
    session.echo(f"cluster: {cmp.summary()}")
    if cmp.cluster_newer:
        session.warn(version.newer_line(cmp.newest, FLEETCTL.version))
    elif cmp.cluster_older:
        session.warn(
            f"fleet: the cluster runs fleet {cmp.newest}, older than the pinned fleetctl "
            f"{FLEETCTL.version}; upgrade fleet on the machines"
        )
    return 0


# -- wait --


def _pending(wanted: list[str], rows: list[tables.UnitState], state: str) -> dict[str, str]:
    """Units not yet in ``state`` on all their machines → why not."""
    by_unit: dict[str, list[tables.UnitState]] = {}
    for row in rows:
        by_unit.setdefault(row.unit, []).append(row)
    out = {}
    for unit in wanted:
        states = by_unit.get(unit, [])
        if not states:
            out[unit] = "no machine reports it"
            continue
        behind = [s for s in states if state not in (s.active, s.sub)]
        if behind:
            out[unit] = ", ".join(
                f"{s.active or '-'}/{s.sub or '-'} on {s.where()}" for s in behind
            )
    return out


def wait_units(session, args) -> int:
    wanted = list(dict.fromkeys(tables.unit_name(u) for u in args.units))
    if session.dry_run:
        names = ", ".join(tables.shown(u) for u in wanted)
        session.echo(f"+ wait for {names} to be {tables.shown(args.state)}")
        return 0
    names = ", ".join(tables.shown(u) for u in wanted)
    waiting = f"fleet wait: {names} to be {tables.shown(args.state)} (up to {args.timeout:g}s)"
    with session.progress(waiting):
        pending, rows, last_error = _poll_states(session, args, wanted)
    if not pending:
        for unit in wanted:
            n = sum(1 for r in rows if r.unit == unit)
            where = f"on {n} machine{'s' if n != 1 else ''}"
            session.echo(f"{tables.shown(unit)}: {tables.shown(args.state)} {where}")
        return 0
    if last_error is not None and last_error.err.unreachable:
        raise CommandError(client.unreachable_message(session, last_error.err), 1)
    why = "; ".join(f"{tables.shown(u)} ({reason})" for u, reason in pending.items())
    raise CommandError(f"not {args.state} after {args.timeout:g}s: {why}", 1)


def _poll_states(session, args, wanted: list[str]):
    """Poll ``list-units`` until every unit is in the state or the time is up."""
    deadline = time.monotonic() + args.timeout
    pending: dict[str, str] = {u: "not checked yet" for u in wanted}
    rows: list = []
    last_error = None
    while True:
        left = deadline - time.monotonic()
        res = client.unit_states(session, timeout=max(left, 0) + client.safety_timeout(session, 2))
        if res.ok:
            last_error = None
            rows = tables.units(res.stdout)
            pending = _pending(wanted, rows, args.state)
            if not pending:
                return pending, rows, None
        else:
            last_error = res
        left = deadline - time.monotonic()
        if left <= 0:
            return pending, rows, last_error
        time.sleep(min(args.interval, left))
