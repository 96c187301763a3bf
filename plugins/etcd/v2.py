"""A small client of the etcd v2 HTTP API (0.4.6 and 3.x with ``--enable-v2``).

``requests`` is imported inside the functions: loading the plugin must stay cheap.
Each call tries the endpoints in order and moves on when one cannot be reached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote


class Unreachable(Exception):
    """No endpoint answered; ``reason`` is short (``connection refused``)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"{endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class NotFound(Exception):
    """The key (or an API path) does not exist; ``api_missing`` when the path is no v2 API."""

    def __init__(self, key: str, api_missing: bool = False, index: int | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.api_missing = api_missing
        self.index = index


class ServerError(Exception):
    pass


class NotEtcd(ServerError):
    """The endpoint answers HTTP, but not as etcd; ``answer`` says what it answered."""

    def __init__(self, endpoint: str, answer: str) -> None:
        super().__init__(f"{endpoint} is not etcd: it answers {answer}")
        self.endpoint = endpoint
        self.answer = answer


@dataclass
class Node:
    key: str
    dir: bool = False
    value: str | None = None
    ttl: int | None = None
    nodes: list[Node] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.key.rstrip("/").rsplit("/", 1)[-1] or "/"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        return cls(
            key=data.get("key") or "/",
            dir=bool(data.get("dir")),
            value=data.get("value"),
            ttl=data.get("ttl"),
            nodes=[cls.from_json(n) for n in data.get("nodes") or ()],
        )


def key_path(key: str) -> str:
    """``/v2/keys/<key>`` with the key normalised (leading ``/``, no trailing ``/``)."""
    key = "/" + key.strip("/")
    return "/v2/keys" + quote(key if key != "/" else "/", safe="/")


class Client:
    def __init__(self, endpoints: list[str], timeout: float = 3.0) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.answered: str | None = None
        """The endpoint that answered the last request."""

    def request(self, path: str, params: dict[str, str] | None = None):
        """GET ``path`` from the first endpoint that answers; returns the response."""
        import requests

        from kshell import http_reason, http_request

        last: Unreachable | None = None
        for base in self.endpoints:
            try:
                response = http_request(
                    "GET", base.rstrip("/") + path, params=params, timeout=self.timeout
                )
            except requests.RequestException as e:
                last = Unreachable(base, http_reason(e))
                continue
            self.answered = base
            return response
        assert last is not None
        raise Unreachable(",".join(self.endpoints), last.reason)

    # -- keys ------------------------------------------------------------------

    def get(self, key: str, *, recursive: bool = False, sort: bool = True) -> Node:
        """The node at ``key`` (children included for a directory)."""
        params = {"recursive": str(recursive).lower(), "sorted": str(sort).lower()}
        response = self.request(key_path(key), params)
        data = _json(response)
        if not isinstance(data, dict) or not ("node" in data or "errorCode" in data):
            # Not etcd's v2 JSON: etcd 3.x without --enable-v2 answers a plain 404 page;
            # anything else (a web server, a proxy's 404 page) is not etcd at all.
            if response.status_code == 404 and self._is_etcd():
                raise NotFound(key, api_missing=True)
            kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
            raise NotEtcd(self.answered or "", f"HTTP {response.status_code} ({kind}) to /v2/keys")
        if response.status_code == 404:
            raise NotFound(key, index=data.get("index"))
        if response.status_code != 200 or data is None or "node" not in data:
            raise ServerError(f"HTTP {response.status_code}: {response.text.strip()[:120]}")
        return Node.from_json(data["node"])

    # -- cluster ---------------------------------------------------------------

    def version(self) -> str:
        """The server version: ``0.4.6`` (plain text on 0.4.x) or ``3.5.1`` (JSON on 2.x+).

        :class:`NotEtcd` when an endpoint answers but not as etcd (kshell's one rule)."""
        from kshell import Etcd, probe_http

        last = "no endpoint"
        for base in self.endpoints:
            probe = probe_http(base, "/version", Etcd.identify, timeout=self.timeout)
            if probe.ok:
                self.answered = base
                return probe.detail
            if probe.state == "wrong":
                raise NotEtcd(base, probe.detail)
            last = probe.detail
        raise Unreachable(",".join(self.endpoints), last)

    def machines(self) -> list[str]:
        response = self.request("/v2/machines")
        if response.status_code != 200:
            return []
        return [m.strip() for m in response.text.split(",") if m.strip()]

    def leader(self) -> str:
        """The leader: its peer URL (0.4.x ``/v2/leader``) or name and id (3.x stats)."""
        response = self.request("/v2/leader")
        if response.status_code == 200 and response.text.strip():
            return response.text.strip()
        stats = _json(self.request("/v2/stats/self")) or {}
        leader = (stats.get("leaderInfo") or {}).get("leader")
        if not leader:
            return "-"
        members = (_json(self.request("/v2/members")) or {}).get("members") or []
        for member in members:
            if member.get("id") == leader and member.get("name"):
                return f"{member['name']} ({leader})"
        return str(leader)

    def _is_etcd(self) -> bool:
        try:
            self.version()
        except NotEtcd:
            return False
        return True

    def v2_enabled(self) -> bool:
        try:
            self.get("/")
        except NotFound as e:
            return not e.api_missing
        return True


def _json(response) -> Any:
    try:
        return json.loads(response.text)
    except ValueError:
        return None
