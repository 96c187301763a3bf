"""Completion of zones, offerings, images, VMs and key pairs from the API, never blocking.

Each list comes through ``session.cached`` (stale-while-revalidate): a keystroke gets
what is cached at once and a refresh runs in the background, with a short HTTP timeout.
Names are offered; where a name is shared, the ids are offered too, described.
"""

from __future__ import annotations

from collections.abc import Callable

from kshell import Candidate

TTL = 30.0
HTTP_TIMEOUT = 5.0

Entry = tuple[str, str]  # text, meta


def _load(session, kind_name: str) -> list[Entry]:
    from . import commands, resolve

    kind = resolve.KINDS[kind_name]
    found = resolve.items(commands.client(session, http_timeout=HTTP_TIMEOUT), kind)
    names = [str(i.get(kind.label)) for i in found]
    entries: list[Entry] = []
    for item, name in zip(found, names):
        meta = ", ".join(str(x) for x in (item.get("zonename"), item.get("state")) if x)
        if names.count(name) == 1:
            entries.append((name, meta or kind.what))
        else:  # a shared name resolves to nothing: offer each id, described
            entries.append((str(item.get(kind.ident)), f"{name} {meta}".strip()))
    return sorted(set(entries))


def completer(kind_name: str) -> Callable[[object, str], list[Candidate]]:
    def complete(session, prefix: str) -> list[Candidate]:
        entries = session.cached(
            f"idcf.{kind_name}", lambda: _load(session, kind_name), ttl=TTL
        )
        return [Candidate(text, meta) for text, meta in entries or () if text.startswith(prefix)]

    return complete
