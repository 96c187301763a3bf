"""etcd's keys for plugins: the v2 HTTP API (etcd 0.4.6; 2.x/3.x with ``--enable-v2``).

Plugins get it as ``kshell.Etcd`` (``session.etcd()`` points it at the context), so none
parses etcdctl's text. Every call has a timeout, tries the endpoints in order, and fails
with one line (:class:`EtcdError`, a ``CommandError``). ``requests`` is imported on the
first request. An endpoint that answers HTTP but not as etcd (a web server, a proxy's
404 page) is :class:`NotEtcd`, never taken for an empty etcd: :func:`probe_http` is that
rule for any service a plugin checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from kshell import CommandError

_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|::1)$")
DEFAULT_ENDPOINT = "http://127.0.0.1:4001"  # etcdctl 0.4.6's own default


class EtcdError(CommandError):
    """A failed etcd call, said in one line."""


class EtcdUnreachable(EtcdError):
    """No endpoint answered."""


class NotEtcd(EtcdError):
    """An endpoint answered HTTP, but not as etcd's v2 API."""


class KeyExists(EtcdError):
    """``mk`` of a key that is already there (etcd error 105)."""


class CompareFailed(EtcdError):
    """A compare-and-swap lost against a concurrent change (etcd errors 101, 100)."""


@dataclass(frozen=True)
class EtcdNode:
    """One key: its value (None for a directory), seconds left (None: no TTL), children."""

    key: str
    value: str | None = None
    dir: bool = False
    ttl: int | None = None
    nodes: tuple[EtcdNode, ...] = ()

    @property
    def name(self) -> str:
        return self.key.rstrip("/").rsplit("/", 1)[-1] or "/"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EtcdNode:
        value = data.get("value")
        return cls(
            key=data.get("key") or "/",
            value=value if isinstance(value, str) else None,
            dir=bool(data.get("dir")),
            ttl=_ttl(data),
            nodes=tuple(cls.from_json(n) for n in data.get("nodes") or () if isinstance(n, dict)),
        )


_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})")


def _ttl(data: dict[str, Any]) -> int | None:
    ttl = data.get("ttl")
    if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl > 0:
        return ttl
    expiration = data.get("expiration")
    m = _RFC3339.fullmatch(expiration) if isinstance(expiration, str) else None
    if m is None:
        return None
    # Nanoseconds cut to microseconds, "Z" spelt out: what fromisoformat (3.10) reads.
    zone = "+00:00" if m.group(3) in ("Z", "z") else m.group(3)
    try:
        when = datetime.fromisoformat(f"{m.group(1)}.{(m.group(2) or '').ljust(6, '0')[:6]}{zone}")
    except ValueError:
        return None
    return max(0, int((when - datetime.now(timezone.utc)).total_seconds() + 0.999))


# -- one rule for "does this endpoint answer as the service it should be" -------------------


@dataclass(frozen=True)
class Probe:
    """What an endpoint turned out to be: ``up`` (``detail``: what identified it),
    ``unreachable`` (``detail``: why), or ``wrong`` (it answers, but as something else)."""

    url: str
    state: Literal["up", "unreachable", "wrong"]
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == "up"


def reason(exc: BaseException) -> str:
    """A short, stable reason for a failed request (``connection refused``)."""
    import requests

    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    low = str(exc).lower()
    for needle, short in (
        ("connection refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("no route to host", "no route to host"),
        ("network is unreachable", "network is unreachable"),
        ("connection reset", "connection reset"),
        ("certificate verify failed", "TLS certificate not trusted"),
        ("wrong version number", "TLS handshake failed (http vs https?)"),
        ("remotedisconnected", "connection closed by the server"),
        ("connection aborted", "connection closed by the server"),
    ):
        if needle in low:
            return short
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__


def request(method: str, url: str, *, timeout: float, **kwargs: Any):
    """One HTTP request with requests; loopback never goes through a proxy (like Go's
    client, which the 2014 tools use). Raises ``requests.RequestException``."""
    import requests

    host = urlsplit(url).hostname or ""
    # Every scheme key requests would look up, ALL_PROXY's "all" included.
    proxies = {"http": None, "https": None, "all": None} if _LOOPBACK.match(host) else None
    return requests.request(method, url, timeout=timeout, proxies=proxies, **kwargs)


def probe_http(
    url: str,
    path: str,
    identify: Callable[[int, str], str | None],
    *,
    timeout: float = 2.0,
) -> Probe:
    """GET ``url + path`` and let ``identify(status, body)`` say what answered: a short
    description (a version) when it is the expected service, None when it is not. Any
    HTTP answer that ``identify`` does not recognise is ``wrong``, never ``up``."""
    import requests

    try:
        response = request("GET", url.rstrip("/") + path, timeout=timeout)
    except requests.RequestException as e:
        return Probe(url, "unreachable", reason(e))
    found = identify(response.status_code, response.text)
    if found:
        return Probe(url, "up", found)
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    return Probe(url, "wrong", f"HTTP {response.status_code} ({kind}) to {path}")


def etcd_version(status: int, body: str) -> str | None:
    """etcd's ``/version``: ``etcd 0.4.6`` (text, 0.4.x) or ``{"etcdserver":"3.5.1",…}``."""
    if status != 200:
        return None
    text = body.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("etcdserver"), str):
        return data["etcdserver"]
    m = re.fullmatch(r"etcd v?(\d+\.\d+\.\d+\S*)", text)
    return m.group(1) if m else None


# -- the client --------------------------------------------------------------------------------


def key_path(key: str) -> str:
    """``/v2/keys/<key>``, the key normalised (leading ``/``, no trailing ``/``)."""
    key = "/" + key.strip("/")
    return "/v2/keys" + quote(key, safe="/")


def endpoints_of(value: str | Sequence[str]) -> list[str]:
    """A comma list (``ETCDCTL_PEERS`` style) or a list of URLs; a bare host:port is http."""
    items = value.split(",") if isinstance(value, str) else list(value)
    urls = [i.strip() if "://" in i else f"http://{i.strip()}" for i in items if i.strip()]
    if not urls:
        raise EtcdError("no etcd endpoint; `context set etcd.endpoint URL`", 2)
    return [u.rstrip("/") for u in urls]


class Etcd:
    """etcd's keys over the v2 HTTP API.

    ``Etcd("http://10.1.1.245:4001")`` or, in a handler, ``session.etcd()``. Reads return
    None (or ``[]``) for a key that is not there; every other failure raises one line.
    With ``echo`` set (a dry run), writes are printed as ``+ etcd set KEY VALUE`` and not
    made, and a read prints the request it would send and ends the handler
    (:class:`kshell.DryRunStop`): a dry run contacts nothing.
    """

    def __init__(
        self,
        endpoints: str | Sequence[str],
        timeout: float = 5.0,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.endpoints = endpoints_of(endpoints)
        self.timeout = timeout
        self.echo = echo
        self.answered: str | None = None
        """The endpoint that answered the last request."""

    identify = staticmethod(etcd_version)
    """``identify(status, body)``: etcd's version from its ``/version`` answer, or None
    when what answered is not etcd (for :func:`probe_http`)."""

    @property
    def where(self) -> str:
        return ",".join(self.endpoints)

    # -- plumbing --------------------------------------------------------------------------

    def _call(self, method: str, key: str, what: str, **kwargs: Any) -> tuple[int, Any]:
        """(HTTP status, JSON body) from the first endpoint that answers as etcd."""
        import requests

        if self.echo is not None:  # a dry run: say what would be asked, ask nothing
            from kshell import DryRunStop

            query = "&".join(f"{k}={v}" for k, v in (kwargs.get("params") or {}).items())
            url = f"{self.endpoints[0]}{key_path(key)}" + (f"?{query}" if query else "")
            self.echo(f"+ {method} {url}")
            raise DryRunStop()
        last = "no endpoint"
        for base in self.endpoints:
            try:
                r = request(method, base + key_path(key), timeout=self.timeout, **kwargs)
            except requests.RequestException as e:
                last = reason(e)
                continue
            try:
                data = json.loads(r.text)
            except ValueError:
                data = None
            if not isinstance(data, dict) or not ("node" in data or "errorCode" in data):
                probe = probe_http(base, "/version", etcd_version, timeout=self.timeout)
                if probe.ok:  # etcd 3.x started without the v2 API answers a plain 404
                    raise EtcdError(
                        f"cannot {what}: etcd {probe.detail} at {base} does not serve the v2 "
                        "API; start it with --enable-v2=true"
                    )
                raise NotEtcd(
                    f"cannot {what}: {base} answers HTTP {r.status_code} but is not etcd; "
                    "check the context's etcd.endpoint"
                )
            self.answered = base
            return r.status_code, data
        raise EtcdUnreachable(
            f"cannot {what}: etcd at {self.where} is unreachable ({last}); "
            "check the context's etcd.endpoint"
        )

    def _fail(self, data: dict[str, Any], what: str) -> EtcdError:
        return EtcdError(f"cannot {what}: etcd: {data.get('message') or data}")

    def _write(self, what: str, shown: str, key: str, **kwargs: Any) -> tuple[int, Any]:
        if self.echo is not None:
            self.echo(f"+ etcd {shown}")
            return 200, {}
        return self._call("PUT", key, what, **kwargs)

    # -- reading ---------------------------------------------------------------------------

    def node(self, key: str, *, recursive: bool = False) -> EtcdNode | None:
        """The node at ``key`` (children included for a directory); None when absent."""
        params = {"recursive": str(recursive).lower(), "sorted": "true"}
        status, data = self._call("GET", key, f"read {key}", params=params)
        if data.get("errorCode") == 100:
            return None
        if "node" not in data:
            raise self._fail(data, f"read {key}")
        return EtcdNode.from_json(data["node"])

    def get(self, key: str) -> str | None:
        """The value at ``key``; None when there is no such key."""
        found = self.node(key)
        if found is not None and found.dir:
            raise EtcdError(f"{key} is a directory, not a value")
        return None if found is None else found.value

    def ls(self, key: str = "/") -> list[EtcdNode]:
        """The children of the directory ``key``; [] when it is absent."""
        found = self.node(key)
        return list(found.nodes) if found is not None else []

    def leaves(self, key: str) -> list[EtcdNode]:
        """Every value under ``key`` at any depth, sorted by key; [] when absent."""
        found = self.node(key, recursive=True)
        out: list[EtcdNode] = []
        stack = [found] if found is not None else []
        while stack:
            current = stack.pop()
            if current.dir:
                stack.extend(current.nodes)
            elif current is not found:
                out.append(current)
        return sorted(out, key=lambda n: n.key)

    def version(self) -> str:
        """The server's version; :class:`NotEtcd` when what answers is not etcd."""
        if self.echo is not None:
            from kshell import DryRunStop

            self.echo(f"+ GET {self.endpoints[0]}/version")
            raise DryRunStop()
        last = None
        for base in self.endpoints:
            probe = probe_http(base, "/version", etcd_version, timeout=self.timeout)
            if probe.ok:
                self.answered = base
                return probe.detail
            if probe.state == "wrong":
                raise NotEtcd(f"{base} is not etcd: it answers {probe.detail}")
            last = probe.detail
        raise EtcdUnreachable(f"etcd at {self.where} is unreachable ({last})")

    # -- writing ---------------------------------------------------------------------------

    def set(self, key: str, value: str, *, ttl: int | None = None) -> None:
        """Create or replace the value at ``key``."""
        form = {"value": value} | ({"ttl": str(ttl)} if ttl else {})
        status, data = self._write(f"write {key}", f"set {key} {value}", key, data=form)
        if "errorCode" in data:
            raise self._fail(data, f"write {key}")

    def mk(self, key: str, value: str, *, ttl: int | None = None) -> None:
        """Create ``key``; :class:`KeyExists` when it is already there."""
        form = {"value": value, "prevExist": "false"} | ({"ttl": str(ttl)} if ttl else {})
        status, data = self._write(f"create {key}", f"mk {key} {value}", key, data=form)
        if data.get("errorCode") == 105:
            raise KeyExists(f"{key} already exists")
        if "errorCode" in data:
            raise self._fail(data, f"create {key}")

    def swap(self, key: str, old: str, value: str) -> None:
        """Replace ``old`` by ``value`` at ``key``; :class:`CompareFailed` when it changed."""
        form = {"value": value, "prevValue": old}
        status, data = self._write(f"write {key}", f"set {key} {value}", key, data=form)
        if data.get("errorCode") == 101:
            raise CompareFailed(f"{key} changed meanwhile; look again and retry")
        if data.get("errorCode") == 100:
            raise CompareFailed(f"{key} was removed meanwhile; look again and retry")
        if "errorCode" in data:
            raise self._fail(data, f"write {key}")

    def delete(self, key: str, *, recursive: bool = False) -> bool:
        """Remove ``key`` (a directory with ``recursive``); False when it was not there."""
        if self.echo is not None:
            self.echo(f"+ etcd rm {'-r ' if recursive else ''}{key}")
            return True
        params = {"recursive": "true", "dir": "true"} if recursive else {}
        status, data = self._call("DELETE", key, f"remove {key}", params=params)
        if data.get("errorCode") == 100:
            return False
        if "errorCode" in data:
            raise self._fail(data, f"remove {key}")
        return True
