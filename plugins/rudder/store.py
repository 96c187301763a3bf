"""Reading and writing rudder's keys through the pinned etcdctl.

Every call goes through ``session.run("etcdctl", …)``, so the context's endpoint
(ETCDCTL_PEERS, supplied by the etcd plugin) applies, and ``--dry-run`` shows it.
etcdctl's failures become one line each (``CommandError``).

Works with etcdctl 0.4.6 and with etcd 3.x's etcdctl in v2 mode (ETCDCTL_API=2):

- ``-o json`` is a global option and goes before the command; both print
  ``{"action": …, "node": {"key", "value", "ttl", "expiration", …}}`` (3.x adds
  ``"nodes": null`` and ``"prevNode": null``).
- 0.4.6 ignores ``-o`` for ``ls`` and prints one key per line; 3.x prints the
  directory node as JSON with its children (and their TTLs). Both are handled.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from kshell import CommandError, Session, ToolResult

CONFIG_KEY = "/coreos.com/network/config"
SUBNETS_KEY = "/coreos.com/network/subnets"
MACHINES_KEY = "/_coreos.com/fleet/machines"

_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?(Z|z|[+-][0-9]{2}:[0-9]{2})"
)

_UNREACHABLE = (
    "Cannot sync with the cluster",
    "All the given peers are not reachable",
    "cluster is unavailable",
    "connection refused",
    "no such host",
    "i/o timeout",
    "no route to host",
    "network is unreachable",
)


class KeyExists(CommandError):
    """``mk`` of a key that is already there (etcd error 105)."""


class CompareFailed(CommandError):
    """A compare-and-swap lost against a concurrent change (etcd error 101)."""


@dataclass(frozen=True)
class Node:
    key: str
    value: str | None
    ttl: int | None
    """Seconds left, from ``ttl`` or else ``expiration``; None without a TTL."""


def endpoint(session: Session) -> str:
    """Where etcdctl is pointed, for messages."""
    return (
        session.context.get("etcd.endpoint")
        or os.environ.get("ETCDCTL_PEERS")
        or "127.0.0.1:4001 (etcdctl's default)"
    )


def error_line(result: ToolResult, what: str, where: str) -> str:
    """One line for a failed etcdctl call (``what``: e.g. ``read /coreos.com/…``)."""
    lines = [ln.strip() for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
    first = lines[0] if lines else f"exit status {result.status}"
    first = first.removeprefix("Error:").strip()
    if result.status == 124:
        return f"cannot {what}: etcd at {where} did not answer in time"
    if any(marker in first for marker in _UNREACHABLE):
        return f"cannot {what}: etcd at {where} is unreachable; check the context's etcd.endpoint"
    return f"cannot {what}: etcdctl: {first}"


def _code(result: ToolResult) -> int | None:
    """The etcd error code in ``Error:  100: Key not found (/x) [3]``, if any."""
    text = result.stderr.strip().removeprefix("Error:").strip()
    number, sep, _ = text.partition(":")
    return int(number) if sep and number.isdigit() else None


def _node(data: object) -> Node | None:
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        return None
    value = data.get("value")
    return Node(data["key"], value if isinstance(value, str) else None, _ttl(data))


def _ttl(data: dict) -> int | None:
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
    left = (when - datetime.now(timezone.utc)).total_seconds()
    return max(0, int(left + 0.999))


def parse_json_node(text: str) -> tuple[Node | None, list[Node]]:
    """etcdctl ``-o json`` output → (the node, its children at any depth that have values).

    ``(None, [])`` when the text is not that JSON (0.4.6's plain ``ls``).
    """
    try:
        data = json.loads(text)
    except ValueError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    top = data.get("node")
    node = _node(top)
    leaves: list[Node] = []
    stack = [top]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        children = current.get("nodes")
        if isinstance(children, list):
            stack.extend(children)
        elif current is not top and not current.get("dir"):
            leaf = _node(current)
            if leaf is not None:
                leaves.append(leaf)
    return node, sorted(leaves, key=lambda n: n.key)


class Etcd:
    """The few etcdctl calls rudder needs, each with a bounded wait."""

    def __init__(self, session: Session, timeout: float = 15.0) -> None:
        self.session = session
        self.timeout = timeout
        self.where = endpoint(session)

    def _run(self, args: list[str]) -> ToolResult:
        return self.session.run("etcdctl", args, capture=True, timeout=self.timeout)

    def _fail(self, result: ToolResult, what: str) -> CommandError:
        return CommandError(error_line(result, what, self.where))

    def get(self, key: str) -> str | None:
        """The value at ``key``; None when there is no such key."""
        result = self._run(["get", key])
        if result.status == 0:
            return result.stdout[:-1] if result.stdout.endswith("\n") else result.stdout
        if _code(result) == 100:
            return None
        if "is a directory" in result.stderr:
            raise CommandError(f"{key} is a directory, not a value")
        raise self._fail(result, f"read {key}")

    def mk(self, key: str, value: str) -> None:
        """Create ``key``; :class:`KeyExists` when it is already there."""
        result = self._run(["mk", key, value])
        if result.status == 0:
            return
        if _code(result) == 105:
            raise KeyExists(f"{key} already exists")
        raise self._fail(result, f"create {key}")

    def swap(self, key: str, old: str, value: str) -> None:
        """Replace ``old`` by ``value`` at ``key``; :class:`CompareFailed` when it changed."""
        result = self._run(["set", "--swap-with-value", old, key, value])
        if result.status == 0:
            return
        if _code(result) == 101:
            raise CompareFailed(f"{key} changed meanwhile; look again and retry")
        if _code(result) == 100:
            raise CompareFailed(f"{key} was removed meanwhile; look again and retry")
        raise self._fail(result, f"write {key}")

    def leaves(self, key: str) -> list[Node]:
        """Every value under the directory ``key`` (recursive), with TTLs; [] when absent."""
        result = self._run(["-o", "json", "ls", "--recursive", key])
        if result.status != 0:
            if _code(result) == 100:
                return []
            raise self._fail(result, f"list {key}")
        top, leaves = parse_json_node(result.stdout)
        if top is not None:
            return leaves
        # etcdctl 0.4.6: `ls` ignores -o and prints keys, directories included.
        nodes = []
        for listed in result.stdout.split():
            node = self.node(listed)
            if node is not None and node.value is not None:
                nodes.append(node)
        return sorted(nodes, key=lambda n: n.key)

    def node(self, key: str) -> Node | None:
        """One key with its TTL; None when absent or a directory."""
        result = self._run(["-o", "json", "get", key])
        if result.status != 0:
            if _code(result) == 100 or "is a directory" in result.stderr:
                return None
            raise self._fail(result, f"read {key}")
        node, _ = parse_json_node(result.stdout)
        return node
