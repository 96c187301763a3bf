"""``etcd health``, the ``status`` line and the ``doctor`` checks (v2 HTTP API).

``/version`` is plain text on 0.4.x (``etcd 0.4.6``) and JSON on 2.x/3.x
(``{"etcdserver":"3.5.1",…}``); ``/v2/leader`` exists on 0.4.x only, 3.x names the
leader in ``/v2/stats/self`` (an id, matched to a name in ``/v2/members``).
"""

from __future__ import annotations

from kshell import Check, Command, CommandError

from . import endpoint
from .tools import ETCDCTL

HEALTH_TIMEOUT = 3.0
STATUS_TIMEOUT = 0.5
CHECK_TIMEOUT = 2.0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _pinned_series() -> str:
    return ".".join(ETCDCTL.version.split(".")[:2]) + "."


def _mismatch(version: str) -> str | None:
    if version.startswith(_pinned_series()):
        return None
    return f"kshell pins etcdctl {ETCDCTL.version}; server is {version}"


def _health(session, args) -> int:
    from .v2 import NotEtcd, Unreachable

    context = session.context
    client = endpoint.client(context, HEALTH_TIMEOUT)
    base = client.endpoints[0].rstrip("/")
    paths = ("/version", "/v2/machines", "/v2/leader", "/v2/keys/")
    if session.dry("GET " + ", ".join(base + p for p in paths)):
        return 0
    try:
        version = client.version()
        answered = client.answered
        machines = client.machines()
        leader = client.leader()
        v2 = client.v2_enabled()
    except Unreachable as e:
        raise CommandError(endpoint.cannot_reach(context, e.reason), 1) from None
    except NotEtcd as e:
        raise CommandError(f"{e}; {endpoint.fix_hint(context)}", 1) from None
    rows = [
        ("endpoint", answered or endpoint.shown(context)),
        ("version", f"etcd {version}"),
        ("machines", ", ".join(machines) or "-"),
        ("leader", leader),
        ("v2 API", "enabled" if v2 else "NOT enabled (etcd 3.x: start it with --enable-v2=true)"),
    ]
    for name, value in rows:
        session.echo(f"{name:<9} {value}")
    note = _mismatch(version)
    if note:
        session.echo(f"note: {note}; its v2 commands behave alike")
    return 0 if v2 else 1


def command() -> Command:
    return Command(
        "etcd health",
        "Version, machines and leader of the context's etcd",
        _health,
        read_only=True,
    )


def status_lines(session) -> list[str]:
    from .v2 import NotEtcd, Unreachable

    shown = endpoint.shown(session.context)
    try:
        client = endpoint.client(session.context, STATUS_TIMEOUT)
        version = client.version()
        machines = client.machines()
    except CommandError as e:
        return [f"{shown}: invalid endpoint ({e.message})"]
    except Unreachable as e:
        return [f"{shown}: unreachable ({e.reason})"]
    except NotEtcd as e:
        return [f"{shown}: not etcd (it answers {e.answer})"]
    except Exception as e:  # noqa: BLE001 - a status line, never a plugin failure
        return [f"{shown}: error ({type(e).__name__}: {e})"]
    return [f"{shown}: up, etcd {version}, {_plural(len(machines), 'machine')}"]


def checks(session) -> list[Check]:
    from .v2 import NotEtcd, ServerError, Unreachable

    context = session.context
    shown = endpoint.shown(context)
    fix = (
        f"unset {endpoint.ENV} (it overrides the context), or export it with etcd's URL"
        if endpoint.from_env(context)
        else "context set etcd.endpoint URL"
    )
    try:
        client = endpoint.client(context, CHECK_TIMEOUT)
    except CommandError as e:
        return [Check("endpoint", "fail", e.message, fix)]
    try:
        version = client.version()
        v2 = client.v2_enabled()
    except Unreachable as e:
        return [Check("reachable", "fail", f"cannot reach etcd at {shown} ({e.reason})", fix)]
    except NotEtcd as e:
        return [Check("reachable", "fail", str(e), fix)]
    except ServerError as e:
        return [Check("reachable", "fail", f"etcd at {shown} answered {e}", fix)]
    found = [Check("reachable", "ok", f"{client.answered} answers")]
    note = _mismatch(version)
    # Nothing to fix when the server is newer: its v2 API (checked next) is what etcdctl
    # 0.4.6 uses. A warning here would be one without a fix.
    found.append(Check("version", "ok", f"etcd {version}" + (f" ({note})" if note else "")))
    found.append(
        Check("v2 API", "ok", "enabled")
        if v2
        else Check(
            "v2 API",
            "fail",
            f"etcd {version} at {shown} does not serve the v2 API that etcdctl 0.4.6 uses",
            "start etcd with --enable-v2=true",
        )
    )
    return found
