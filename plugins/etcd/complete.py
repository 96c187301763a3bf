"""Completion of etcd keys, straight from the v2 HTTP API.

One non-recursive GET of the directory being completed, through ``session.cached``
(stale-while-revalidate, 5 s): a keystroke never waits longer than the cache's short
first wait, and the HTTP timeout is short. Directories come first (with a trailing
``/`` and meta ``dir``), then keys (meta: the start of the value). Hidden keys (a
``_`` name) are offered only once the last segment typed starts with ``_``; etcd
leaves them out of listings, so the known hidden roots are read directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kshell import Candidate

from . import endpoint

TTL = 5.0
HTTP_TIMEOUT = 0.5
HIDDEN_ROOTS = ("/_coreos.com", "/_etcd")
"""Hidden directories worth knowing: fleet's key space, etcd 0.4's own registry."""

Entry = tuple[str, bool, str]  # name, is a directory, value


def short(value: str | None, width: int = 40) -> str:
    """A value on one line, cut to ``width`` characters."""
    text = (value or "").replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= width else text[: width - 1] + "…"


def _split(prefix: str) -> tuple[str, str]:
    """``/a/b/c`` -> (``/a/b/``, ``c``): the directory part as typed, and the last segment."""
    cut = prefix.rfind("/") + 1
    return prefix[:cut], prefix[cut:]


def _list(urls: list[str], directory: str) -> list[Entry]:
    from .v2 import Client, NotFound

    try:
        node = Client(urls, timeout=HTTP_TIMEOUT).get(directory)
    except NotFound:
        return []
    if not node.dir:
        return []
    return _ordered([(child.name, child.dir, child.value or "") for child in node.nodes])


def _ordered(entries: list[Entry]) -> list[Entry]:
    """Directories first, then keys, each by name: sorted once per fill, not per keystroke."""
    return sorted(entries, key=lambda e: (not e[1], e[0]))


def _hidden(urls: list[str], directory: str) -> list[Entry]:
    """The known hidden roots that live in ``directory`` (etcd does not list them)."""
    from .v2 import Client, NotFound

    client = Client(urls, timeout=HTTP_TIMEOUT)
    found = []
    for root in HIDDEN_ROOTS:
        parent, name = root.rsplit("/", 1)
        if (parent or "/") != directory:
            continue
        try:
            node = client.get(root)
        except NotFound:
            continue
        found.append((name, node.dir, node.value or ""))
    return found


def complete_key(session, prefix: str) -> Iterable[Candidate]:
    """Completer for every etcd KEY argument: ``fn(session, prefix)``."""
    try:
        urls = endpoint.endpoints(session.context)
    except ValueError:
        return []
    typed_dir, last = _split(prefix or "/")
    directory = "/" + typed_dir.strip("/")
    where = ",".join(urls)
    if last.startswith("_"):  # one more GET per known hidden root in this directory
        entries = session.cached(
            f"etcd.keys+hidden:{where}:{directory}",
            lambda: _ordered(_list(urls, directory) + _hidden(urls, directory)),
            ttl=TTL,
        )
    else:
        entries = session.cached(
            f"etcd.keys:{where}:{directory}", lambda: _list(urls, directory), ttl=TTL
        )
    return _candidates(entries or (), typed_dir, last)


def _candidates(entries: Iterable[Entry], typed_dir: str, last: str) -> Iterator[Candidate]:
    """Lazily: the caller stops after the candidates it can show (10 000 keys, one Tab)."""
    hidden_ok = last.startswith("_")
    seen: set[str] = set()
    for name, is_dir, value in entries:
        if not name.startswith(last) or (name.startswith("_") and not hidden_ok):
            continue
        if name in seen:
            continue
        seen.add(name)
        if is_dir:
            yield Candidate(f"{typed_dir}{name}/", "dir")
        else:
            yield Candidate(f"{typed_dir}{name}", short(value))
