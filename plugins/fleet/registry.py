"""Read fleet's keys straight from etcd's v2 HTTP API (completion, version check).

Only reads, only what fleetctl 0.8.1 itself reads, with a short timeout: machine
objects under ``<prefix>machines/<id>/object`` and unit names under ``<prefix>job/``.
Through an SSH tunnel (``fleet.tunnel``) etcd is not reachable from here; callers
fall back to fleetctl or say the check was skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_PREFIX = "/_coreos.com/fleet/"


class RegistryError(Exception):
    pass


def normalise_prefix(prefix: str | None) -> str:
    prefix = (prefix or DEFAULT_PREFIX).strip() or DEFAULT_PREFIX
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    if not prefix.endswith("/"):
        prefix += "/"
    return prefix


def get(endpoint: str, key: str, *, recursive: bool = False, timeout: float = 2.0) -> Any:
    """The ``node`` of a v2 GET, or None when the key does not exist."""
    import urllib.error
    import urllib.parse
    import urllib.request

    url = endpoint.rstrip("/") + "/v2/keys" + urllib.parse.quote(key)
    if recursive:
        url += "?recursive=true&sorted=true"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            data = _etcd_answer(endpoint, r.status, r.read())
            return data.get("node")
    except urllib.error.HTTPError as e:
        data = _etcd_answer(endpoint, e.code, e.read())
        if data.get("errorCode") == 100:  # key not found
            return None
        raise RegistryError(f"etcd at {endpoint} answered HTTP {e.code}") from e
    except (OSError, ValueError) as e:
        from kshell import http_reason

        # kshell's short reason (`connection refused`), not urllib's `[Errno 111] ...`.
        reason = getattr(e, "reason", None) or e
        why = http_reason(reason) if isinstance(reason, BaseException) else str(reason)
        raise RegistryError(f"etcd at {endpoint} did not answer: {why}") from e


def _etcd_answer(endpoint: str, status: int, body: bytes) -> dict:
    """etcd's v2 JSON (a ``node`` or an ``errorCode``); anything else is not etcd, never
    an empty registry (a web server's 404 page, a proxy) — kshell's rule for etcd."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not ("node" in data or "errorCode" in data):
        raise RegistryError(f"{endpoint} is not etcd: it answers HTTP {status} without etcd's API")
    return data


@dataclass
class MachineObject:
    id: str
    public_ip: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    version: str | None = None


def machine_objects(endpoint: str, prefix: str | None = None, timeout: float = 2.0):
    """Every ``<prefix>machines/*/object`` as a MachineObject (unparsable ones skipped)."""
    node = get(endpoint, normalise_prefix(prefix) + "machines", recursive=True, timeout=timeout)
    out: list[MachineObject] = []
    for machine in (node or {}).get("nodes", []) or []:
        for child in machine.get("nodes", []) or []:
            if not child.get("key", "").endswith("/object"):
                continue
            try:
                obj = json.loads(child.get("value") or "")
            except ValueError:
                continue
            if not isinstance(obj, dict) or not obj.get("ID"):
                continue
            metadata = obj.get("Metadata") or {}
            out.append(
                MachineObject(
                    str(obj["ID"]),
                    obj.get("PublicIP") or None,
                    {str(k): str(v) for k, v in metadata.items()}
                    if isinstance(metadata, dict)
                    else {},
                    obj.get("Version") or None,
                )
            )
    return out


def unit_names(endpoint: str, prefix: str | None = None, timeout: float = 2.0) -> list[str]:
    """The units in the registry: the children of ``<prefix>job/``."""
    node = get(endpoint, normalise_prefix(prefix) + "job", timeout=timeout)
    names = []
    for child in (node or {}).get("nodes", []) or []:
        names.append(child.get("key", "").rstrip("/").rsplit("/", 1)[-1])
    return sorted(n for n in names if n)
