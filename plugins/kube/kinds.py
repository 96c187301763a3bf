"""The kinds of Kubernetes v0.3 objects and the names users type for them.

kubecfg v0.3 knows exactly ``pods``, ``replicationControllers``, ``services`` and
``minions`` (a leading ``/`` allowed); people type ``pod``, ``po``, ``rc``, ``svc``,
``/minions`` … Every kube command maps what was typed to kubecfg's name here.
"""

from __future__ import annotations

from dataclasses import dataclass

from kshell import CommandError


@dataclass(frozen=True)
class Kind:
    name: str
    """kubecfg's and the REST API's name (``replicationControllers``)."""
    singular: str
    """As the API's messages say it (``replicationController``)."""
    aliases: tuple[str, ...]


KINDS: tuple[Kind, ...] = (
    Kind("pods", "pod", ("pod", "po")),
    Kind("replicationControllers", "replicationController",
         ("replicationcontroller", "rc", "rcs", "controller", "controllers")),
    Kind("services", "service", ("service", "svc")),
    Kind("minions", "minion", ("minion", "mi", "node", "nodes")),
)  # fmt: skip

_BY_NAME = {k.name.lower(): k for k in KINDS} | {a: k for k in KINDS for a in k.aliases}


def valid_kinds() -> str:
    """One line naming the kinds and their short forms."""
    return ", ".join(f"{k.name} ({', '.join(k.aliases[:3])})" for k in KINDS)


def kind(text: str) -> Kind:
    """The kind a user means: ``pods``, ``pod``, ``/pods``, ``rc``, ``svc``, case-insensitive."""
    found = _BY_NAME.get(text.strip().lstrip("/").lower())
    if found is None:
        raise CommandError(f"unknown kind `{text}`; valid kinds: {valid_kinds()}", 2)
    return found


def kind_and_id(text: str) -> tuple[Kind, str]:
    """``KIND/ID`` (``pods/hello-pod``, ``rc/web``, ``/minions/10.0.0.5``)."""
    head, sep, ident = text.strip().lstrip("/").partition("/")
    if not sep or not ident or "/" in ident:
        raise CommandError(f"expected KIND/ID (e.g. pods/hello-pod), not `{text}`", 2)
    return kind(head), ident


def typed_forms(prefix: str) -> list[str]:
    """Kind names a completion may offer for ``prefix`` (canonical names first)."""
    lead = "/" if prefix.startswith("/") else ""
    word = prefix[len(lead):].lower()
    names = [k.name for k in KINDS] + [a for k in KINDS for a in k.aliases]
    return [lead + n for n in names if n.lower().startswith(word)]
