"""Completion for the kube commands: kinds, object IDs from the API server, files for -c.

IDs come from the API server's REST API (``GET /api/v1beta1/<kind>``, what kubecfg reads)
through ``session.cached``: a keystroke gets the cached answer at once while a background
refresh runs, each request bounded by a short timeout.
"""

from __future__ import annotations

from kshell import Candidate, complete_files

from . import kinds
from .master import master_url

TTL = 10.0
TIMEOUT = 2.0
FILE_SUFFIXES = (".json", ".yaml", ".yml")


def fetch_objects(master: str, kind: str, timeout: float = TIMEOUT) -> list[tuple[str, str]]:
    """(id, description) of every object of ``kind`` the API server lists."""
    from kshell import http_request  # requests only in the background refresh, never at start

    # The tunnel's end is on loopback, which must not go through a proxy.
    r = http_request("GET", f"{master}/api/v1beta1/{kind}", timeout=timeout)
    r.raise_for_status()
    items = r.json().get("items") or []
    found = [(str(item["id"]), describe(kind, item)) for item in items if item.get("id")]
    return sorted(found)  # v0.3 lists in etcd's order, which is not sorted


def describe(kind: str, item: dict) -> str:
    if kind == "pods":
        state = item.get("currentState") or {}
        return f"pod {state.get('status', '')} on {state.get('host') or 'no host'}"
    if kind == "replicationControllers":
        return f"rc, {(item.get('desiredState') or {}).get('replicas', 0)} replicas"
    if kind == "services":
        return f"service, port {item.get('port', '')}"
    return kind[:-1]


def objects(session, kind: str) -> list[tuple[str, str]]:
    """The cached IDs of ``kind`` ([] while nothing is known yet, or the master is down)."""
    master = master_url(session.context)
    if session.dry_run:
        return []
    found = session.cached(f"kube:{kind}:{master}", lambda: fetch_objects(master, kind), ttl=TTL)
    return found or []


def kind_names(session, prefix: str) -> list[Candidate]:
    return [Candidate(k, "kind") for k in kinds.typed_forms(prefix)]


def kind_and_id(session, prefix: str) -> list[Candidate]:
    """``KIND/`` first; after the slash, that kind's IDs (``pods/hello-pod``)."""
    head, sep, tail = prefix.partition("/")
    if prefix.startswith("/"):
        head, sep, tail = prefix[1:].partition("/")
        head = "/" + head
    if not sep:
        return [Candidate(k + "/", "kind") for k in kinds.typed_forms(prefix)]
    try:
        kind = kinds.kind(head)
    except Exception:  # noqa: BLE001 - an unknown kind completes to nothing
        return []
    return [
        Candidate(f"{head}/{ident}", desc)
        for ident, desc in objects(session, kind.name)
        if ident.startswith(tail)
    ]


def controllers(session, prefix: str) -> list[Candidate]:
    return [
        Candidate(ident, desc)
        for ident, desc in objects(session, "replicationControllers")
        if ident.startswith(prefix)
    ]


def files(session, prefix: str) -> list[Candidate]:
    """Object files (``*.json``, ``*.yaml``, ``*.yml``) and directories."""
    return complete_files(prefix, FILE_SUFFIXES, "object file")
