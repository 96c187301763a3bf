"""The master's health for ``doctor`` and ``status``: fleet's view and the API's own.

The seed's master "silently stopped working": Kubernetes had grown a scheduler, the
old units never started it, and new pods stayed ``Waiting`` with no host. So the
checks look at both sides:

- fleet (through the pinned fleetctl): kube-apiserver, kube-scheduler and
  kube-controller-manager present and active; kube-kubelet and kube-proxy active on
  every machine with the kubernetes role;
- the API server (directly, or through the tunnel): that it is really a Kubernetes API
  server (``/version`` with ``gitVersion``), that the kubernetes machines are registered
  as minions, and that no pod has been without a host for longer than a short grace —
  which means no scheduler is running, whatever fleet says.

fleetctl's tables are read by column position with ``kshell.parse_tabwriter_table``
(tools-2014.md §1.4: cells can be empty, so splitting on runs of TABs shifts the cells
after an empty one).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from kshell import Check, CommandError, parse_tabwriter_table

API = "/api/v1beta1"
MASTER_UNITS = (
    "kube-apiserver.service",
    "kube-scheduler.service",
    "kube-controller-manager.service",
)
NODE_UNITS = ("kube-kubelet.service", "kube-proxy.service")
DEFAULT_GRACE = 15.0
DEFAULT_NODE_METADATA = "role=kubernetes"
UNITS_DIR = "kube-units"

# -- the API server over HTTP --------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def get(base: str, path: str, timeout: float = 5.0):
    """GET ``base + path``: the ``requests`` response; ApiError when nothing answers (its
    message does not repeat the URL: callers say which server they asked)."""
    import requests

    from kshell import http_reason, http_request

    try:
        return http_request("GET", base.rstrip("/") + path, timeout=timeout)
    except requests.Timeout:
        raise ApiError(f"no answer within {timeout:g}s") from None
    except requests.RequestException as e:
        raise ApiError(f"no answer: {http_reason(e)}") from None


def get_json(base: str, path: str, timeout: float = 5.0):
    """The JSON at ``path``; ApiError with the API's own message on an error status."""
    res = get(base, path, timeout)
    try:
        data = res.json()
    except ValueError:
        data = None
    if res.status_code != 200:
        message = data.get("message") if isinstance(data, dict) else None
        raise ApiError(
            f"GET {path}: HTTP {res.status_code}" + (f": {message}" if message else ""),
            res.status_code,
        )
    if data is None:
        raise ApiError(f"GET {path}: the answer is not JSON", res.status_code)
    return data


def probe(base: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(True, ``Kubernetes v0.3``) when ``base`` is a Kubernetes API server; else (False, why).

    ``/version`` with a ``gitVersion`` tells it apart from any other HTTP server
    (``/healthz`` answers ``ok`` on many of them)."""
    try:
        res = get(base, "/version", timeout)
    except ApiError as e:
        return False, e.message
    try:
        data = res.json()
    except ValueError:
        data = None
    if res.status_code == 200 and isinstance(data, dict) and data.get("gitVersion"):
        return True, f"Kubernetes {data['gitVersion']}"
    return False, (
        "it answers, but not as a Kubernetes API server "
        f"(GET /version: HTTP {res.status_code}{'' if data is None else ', no gitVersion'})"
    )


def items(data) -> list[dict]:
    """The objects of a v1beta1 list (``MinionList`` also has them under ``minions``)."""
    if not isinstance(data, dict):
        return []
    found = data.get("items")
    if found is None:
        found = data.get("minions")
    return [o for o in found or [] if isinstance(o, dict)]


def pod_host(pod: dict) -> str:
    for section in ("desiredState", "currentState"):
        state = pod.get(section)
        if isinstance(state, dict) and state.get("host"):
            return str(state["host"])
    return ""


def pod_status(pod: dict) -> str:
    state = pod.get("currentState")
    return str(state.get("status") or "") if isinstance(state, dict) else ""


def pod_age(pod: dict, now: float | None = None) -> float | None:
    """Seconds since the pod was created (its ``creationTimestamp``), None when unknown."""
    from datetime import datetime

    stamp = pod.get("creationTimestamp")
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        created = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return (time.time() if now is None else now) - created


def master(session) -> tuple[str, str]:
    """(the master's URL, how it is reached) for the current context."""
    from . import tunnel
    from .master import master_url

    url = master_url(session.context)
    rec = tunnel.live(session.context.name)
    if rec is not None and rec.local_url == url:
        return url, f"{url} (through the tunnel to {rec.where})"
    return url, url


# -- fleet, read through the pinned fleetctl -----------------------------------------------

_LOG_LINE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")


def _value(cell: str | None) -> str:
    return "" if cell in (None, "-") else cell


def _metadata(cell: str) -> dict[str, str]:
    out = {}
    for pair in _value(cell).split(","):
        k, sep, v = pair.partition("=")
        if sep and k.strip():
            out[k.strip()] = v.strip()
    return out


@dataclass
class FleetView:
    machines: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    """Machine ID → (public IP, metadata)."""
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    """Unit name → its list-unit-files row."""
    states: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(unit, machine ID, IP, active) from list-units."""

    def active_on(self, unit: str) -> list[tuple[str, str]]:
        return [(m, ip) for u, m, ip, a in self.states if u == unit and a == "active"]

    def rows_of(self, unit: str) -> list[tuple[str, str, str]]:
        return [(m, ip, a) for u, m, ip, a in self.states if u == unit]


def _fleet_error(res) -> str:
    banner = ("####", "WARNING", "version of", "recommended")  # the version banner's lines
    lines = [
        line.strip()
        for line in (res.stderr or "").splitlines()
        if line.strip() and not _LOG_LINE.match(line) and not line.startswith(banner)
    ]
    if res.status == 124:
        return "fleetctl did not answer in time"
    return lines[-1] if lines else f"fleetctl exited with status {res.status}"


def fleet_view(
    session,
    timeout: float = 20.0,
    lists: tuple[str, ...] = ("list-machines", "list-unit-files", "list-units"),
) -> FleetView:
    """What fleet knows, through the pinned fleetctl; CommandError with one line if it fails."""
    view = FleetView()
    for command in lists:
        res = session.run("fleetctl", [command, "--full"], capture=True, timeout=timeout)
        if res.status != 0:
            raise CommandError(f"cannot read fleet's state: {_fleet_error(res)}", res.status)
        rows = parse_tabwriter_table(res.stdout)
        if command == "list-machines":
            for r in rows:
                if _value(r.get("machine")):
                    meta = _metadata(r.get("metadata", ""))
                    view.machines[r["machine"]] = (_value(r.get("ip")), meta)
        elif command == "list-unit-files":
            view.files = {r["unit"]: r for r in rows if r.get("unit")}
        else:
            for r in rows:
                machine, _, ip = _value(r.get("machine")).partition("/")
                view.states.append((r.get("unit", ""), machine, ip, r.get("active", "")))
    return view


def apiserver_ip(session) -> str | None:
    """The public IP of the machine fleet runs kube-apiserver.service on, if any."""
    view = fleet_view(session, lists=("list-units",))
    found = [ip for _, ip in view.active_on("kube-apiserver.service") if ip]
    return found[0] if found else None


def _short(machine: str) -> str:
    return machine[:8] + "..." if len(machine) > 8 else machine


def _node_metadata(session) -> tuple[str, str]:
    text = session.context.get("kube.node-metadata") or DEFAULT_NODE_METADATA
    key, _, value = text.partition("=")
    return key.strip(), value.strip()


def _grace(session) -> float:
    try:
        return max(float(session.context.get("kube.scheduling-grace") or DEFAULT_GRACE), 0.0)
    except ValueError:
        return DEFAULT_GRACE


def render_hint(session, unit: str) -> str:
    """The commands that render the unit set and start ``unit`` with fleet."""
    etcd = session.context.get("fleet.endpoint") or session.context.get("etcd.endpoint")
    etcd = etcd or "http://ETCD:4001"
    return f"kube units render --etcd {etcd} --out {UNITS_DIR}, then fleet start {UNITS_DIR}/{unit}"


def kubernetes_machines(session, view: FleetView) -> dict[str, tuple[str, dict[str, str]]]:
    key, value = _node_metadata(session)
    return {m: v for m, v in view.machines.items() if v[1].get(key) == value}


def fleet_checks(session, view: FleetView) -> list[Check]:
    out = []
    for unit in MASTER_UNITS:
        name = unit
        if unit not in view.files:
            why = f"{unit} is not in fleet"
            if unit == "kube-scheduler.service":
                why += ": without a scheduler new pods never get a host and stay Waiting"
            elif unit == "kube-controller-manager.service":
                why += ": without it replication controllers create no pods"
            out.append(Check(name, "fail", why, render_hint(session, unit)))
            continue
        active = view.active_on(unit)
        if active:
            where = ", ".join(f"{_short(m)}/{ip}" if ip else _short(m) for m, ip in active)
            out.append(Check(name, "ok", f"active on {where}"))
            continue
        rows = view.rows_of(unit)
        seen = "; ".join(f"{a or 'no state'} on {_short(m)}/{ip}" for m, ip, a in rows)
        desired = view.files[unit].get("dstate", "?")
        out.append(Check(
            name, "fail",
            f"{unit} is in fleet (desired {desired}) but not active"
            + (f" ({seen})" if seen else " (not running anywhere)"),
            f"fleet start {unit}; fleet journal {unit}",
        ))  # fmt: skip
    nodes = kubernetes_machines(session, view)
    key, value = _node_metadata(session)
    if not nodes:
        out.append(Check(
            "kubernetes machines", "warn", f"no fleet machine has the metadata {key}={value}",
            f"give the nodes `metadata: {key}={value}` in cloud-config (coreos.fleet), "
            "or `context set kube.node-metadata K=V`",
        ))  # fmt: skip
        return out
    for unit in NODE_UNITS:
        name = unit
        active = {m for m, _ in view.active_on(unit)}
        absent = [m for m in sorted(nodes) if m not in active]
        missing = [f"{_short(m)}/{nodes[m][0]}" for m in absent]
        if not missing:
            out.append(Check(name, "ok", f"active on all {len(nodes)} {key}={value} machine(s)"))
        elif unit not in view.files:
            out.append(Check(name, "fail", f"{unit} is not in fleet (global, on every "
                             f"{key}={value} machine)", render_hint(session, unit)))  # fmt: skip
        else:
            look = f"fleetctl ssh {absent[0]} journalctl -u {unit}"
            out.append(Check(
                name, "fail", f"not active on {', '.join(missing)}",
                f"fleet start {unit}; see why on one: {look}",
            ))  # fmt: skip
    return out


# -- the API's own view ----------------------------------------------------------------------


def unscheduled(pods: list[dict], grace: float, now: float | None = None):
    """(pods without a host for longer than ``grace``, younger ones without a host)."""
    old, young = [], []
    for pod in pods:
        if pod_host(pod):
            continue
        age = pod_age(pod, now)
        (young if age is None or age < grace else old).append(pod)
    return old, young


def scheduling_check(session, url: str, pods: list[dict], wait: bool) -> Check:
    """Pods with no host past the grace mean no scheduler runs (the seed's broken master).

    With ``wait`` (doctor), pods younger than the grace are given the rest of it."""
    grace = _grace(session)
    old, young = unscheduled(pods, grace)
    if young and wait:
        ages = [pod_age(p) for p in young]
        rest = max((grace - a for a in ages if a is not None), default=grace)
        with session.progress(f"kube: {len(young)} new pod(s) waiting for a host"):
            time.sleep(min(max(rest, 0.0), grace) + 0.2)
        try:
            pods = items(get_json(url, f"{API}/pods"))
        except ApiError as e:
            return Check("pods scheduled", "warn", f"cannot re-read the pods: {e.message}")
        before = {p.get("id") for p in young}
        still = [p for p in pods if p.get("id") in before and not pod_host(p)]
        old += still
        young = []
    fix = (
        "start a scheduler: "
        + render_hint(session, "kube-scheduler.service")
        + " (if fleet says it is active, `fleet journal kube-scheduler.service`)"
    )
    if old:
        names = ", ".join(str(p.get("id")) for p in old[:5]) + (" …" if len(old) > 5 else "")
        return Check(
            "pods scheduled", "fail",
            f"{len(old)} pod(s) without a host for more than {grace:g}s ({names}): "
            "no scheduler is running",
            fix,
        )  # fmt: skip
    if young:
        return Check(
            "pods scheduled",
            "warn",
            f"{len(young)} new pod(s) not yet given a host (grace {grace:g}s)",
        )
    placed = sum(1 for p in pods if pod_host(p))
    return Check("pods scheduled", "ok", f"{placed} pod(s), every one has a host")


def minion_check(session, minions: list[str], view: FleetView | None) -> Check:
    key, value = _node_metadata(session)
    if view is None:
        detail = f"{len(minions)} registered" + (f": {', '.join(minions)}" if minions else "")
        return Check("minions", "ok" if minions else "warn", detail + " (fleet not read)")
    nodes = kubernetes_machines(session, view)
    ips = {ip for ip, _ in nodes.values() if ip}
    missing = sorted(ips - set(minions))
    fix = "is kube-register running? " + render_hint(session, "kube-register.service")
    if not minions:
        return Check(
            "minions",
            "fail",
            "no minions registered"
            + (f" ({len(ips)} {key}={value} machine(s) in fleet)" if ips else ""),
            fix,
        )
    if missing:
        return Check(
            "minions", "fail",
            f"{key}={value} machine(s) not registered as minions: {', '.join(missing)}", fix,
        )  # fmt: skip
    extra = sorted(set(minions) - ips)
    detail = f"{len(minions)} minion(s), every {key}={value} machine registered"
    if extra:
        return Check("minions", "warn", f"{detail}; not {key}={value} machines in fleet: "
                     f"{', '.join(extra)}", "a node that left fleet, or another role")  # fmt: skip
    return Check("minions", "ok", detail)


def _tunnel_fix(session, view: FleetView | None) -> str:
    host = session.context.get("kube.tunnel.host")
    if host:
        return "kube tunnel open"
    if view is not None:
        rows = view.active_on("kube-apiserver.service")
        if rows and rows[0][1]:
            return f"kube tunnel open core@{rows[0][1]} (or context set kube.master URL)"
    return "kube tunnel open core@MASTER-IP, or context set kube.master URL"


def checks(session, wait: bool = True) -> list[Check]:
    if session.dry_run:
        return []
    out: list[Check] = []
    view: FleetView | None = None
    try:
        view = fleet_view(session)
    except CommandError as e:
        if e.status == 127:  # fleetctl missing: fleet's own check warns; the fix is the same
            out.append(Check("fleet units", "warn", f"not read: {e.message.split(':')[0]}",
                             "bin install fleetctl"))  # fmt: skip
        else:
            # A fix is a command to paste, as the fleet plugin's own check gives.
            out.append(Check("fleet units", "fail", e.message,
                             "context set fleet.endpoint URL (or fleet.tunnel HOST)"))  # fmt: skip
    else:
        out += fleet_checks(session, view)
    url, shown = master(session)
    ok, detail = probe(url)
    if not ok:
        out.append(Check("API server", "fail", f"{shown}: {detail}", _tunnel_fix(session, view)))
        return out
    out.append(Check("API server", "ok", f"{detail} at {shown}"))
    try:
        minions = [str(m.get("id")) for m in items(get_json(url, f"{API}/minions"))]
        pods = items(get_json(url, f"{API}/pods"))
    except ApiError as e:
        out.append(Check("API server", "fail", f"{shown}: {e.message}"))
        return out
    out.append(minion_check(session, minions, view))
    out.append(scheduling_check(session, url, pods, wait))
    return out


def status(session) -> list[str]:
    """A few lines: tunnel, API, minions and pods, the master units in fleet."""
    if session.dry_run:
        return ["not queried in a dry run"]
    from . import tunnel

    lines = []
    line = tunnel.status_line(session)
    if line:
        lines.append(line)
    url, shown = master(session)
    ok, detail = probe(url, timeout=2.0)
    if not ok:
        lines.append(f"master {shown}: {detail}")
    else:
        lines.append(f"master {shown}: {detail}")
        try:
            minions = items(get_json(url, f"{API}/minions", timeout=3.0))
            pods = items(get_json(url, f"{API}/pods", timeout=3.0))
        except ApiError as e:
            lines.append(e.message)
        else:
            old, young = unscheduled(pods, _grace(session))
            extra = ""
            if old:
                extra = f" ({len(old)} without a host past {_grace(session):g}s: no scheduler?)"
            elif young:
                extra = f" ({len(young)} waiting for a host)"
            lines.append(f"minions: {len(minions)}, pods: {len(pods)}{extra}")
    try:
        view = fleet_view(session, timeout=10.0)
    except CommandError as e:
        if e.status != 127:  # a missing fleetctl: `status` itself names it, with the fix
            lines.append(e.message)
        return lines
    parts = []
    for unit in MASTER_UNITS:
        name = unit.removeprefix("kube-").removesuffix(".service")
        if unit not in view.files:
            parts.append(f"{name} MISSING")
        else:
            parts.append(f"{name} {'active' if view.active_on(unit) else 'NOT ACTIVE'}")
    lines.append("fleet: " + ", ".join(parts))
    return lines
