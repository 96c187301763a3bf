"""``etcd tree [KEY] [--all]``: keys and short values, read from the v2 HTTP API.

One ``GET /v2/keys/KEY?recursive=true&sorted=true``. etcd leaves hidden keys (a name
starting with ``_``) out of every listing, so ``--all`` also reads the known hidden
roots (fleet's ``/_coreos.com``, etcd 0.4's ``/_etcd``) directly and grafts them in.
"""

from __future__ import annotations

from kshell import CommandError

from . import endpoint
from .complete import HIDDEN_ROOTS, complete_key, short

HTTP_TIMEOUT = 5.0
VALUE_WIDTH = 60


def _find(node, key: str):
    if node.key.rstrip("/") == key.rstrip("/"):
        return node
    for child in node.nodes:
        if child.dir and (key + "/").startswith(child.key.rstrip("/") + "/"):
            return _find(child, key)
    return None


def _graft_hidden(client, top) -> None:
    from .v2 import NotFound

    base = top.key.rstrip("/")
    for root in HIDDEN_ROOTS:
        if not root.startswith(base + "/"):
            continue
        parent = _find(top, root.rsplit("/", 1)[0] or "/")
        if parent is None or any(c.key == root for c in parent.nodes):
            continue
        try:
            parent.nodes.append(client.get(root, recursive=True))
        except NotFound:
            continue
        parent.nodes.sort(key=lambda n: n.key)


def _label(node, *, root: bool = False) -> str:
    name = node.key if root else node.name
    if node.dir:
        label = name if name.endswith("/") else name + "/"
    else:
        label = f"{name} = {short(node.value, VALUE_WIDTH)}"
    if node.ttl is not None:
        label += f"  (ttl {node.ttl}s)"
    return label


def render(node, *, show_hidden: bool) -> list[str]:
    lines = [_label(node, root=True)]

    def walk(parent, indent: str) -> None:
        children = [c for c in parent.nodes if show_hidden or not c.name.startswith("_")]
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{_label(child)}")
            if child.dir:
                walk(child, indent + ("    " if last else "│   "))

    walk(node, "")
    return lines


def _tree(session, args) -> int:
    from .v2 import NotEtcd, NotFound, ServerError, Unreachable, key_path

    key = "/" + (args.key or "/").strip("/")
    client = endpoint.client(session.context, HTTP_TIMEOUT)
    asked = f"GET {client.endpoints[0].rstrip('/')}{key_path(key)}?recursive=true&sorted=true"
    if session.dry(asked + (" (and the hidden roots, --all)" if args.all else "")):
        return 0
    try:
        top = client.get(key, recursive=True, sort=True)
        if args.all and top.dir:
            _graft_hidden(client, top)
    except Unreachable as e:
        raise CommandError(endpoint.cannot_reach(session.context, e.reason), 2) from None
    except NotFound as e:
        if e.api_missing:
            raise CommandError(
                f"etcd at {endpoint.shown(session.context)} does not serve the v2 API "
                "(etcd 3.x: start it with --enable-v2=true)",
                1,
            ) from None
        raise CommandError(f"{key}: key not found", 4) from None
    except NotEtcd as e:
        raise CommandError(f"{e}; {endpoint.fix_hint(session.context)}", 1) from None
    except ServerError as e:
        raise CommandError(f"etcd answered {e}", 1) from None
    for line in render(top, show_hidden=args.all):
        session.echo(line)
    return 0


def command():
    from kshell import Command

    def arguments(p):
        p.add_argument("key", metavar="KEY", nargs="?", help="the directory to show (default /)")
        p.add_argument("--all", action="store_true", help="show hidden keys (names with _)")

    return Command(
        "etcd tree",
        "Show keys and short values as a tree (v2 HTTP API)",
        _tree,
        arguments,
        {"key": complete_key},
        read_only=True,
    )
