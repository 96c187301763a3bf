"""Object files for ``kube create`` and ``kube update``, read before anything is sent.

kubecfg v0.3 reads ``-c FILE`` itself and, on a syntax error, fails with go-yaml's
0-based line and a Go-ish message after contacting nobody; worse, a file that parses
as a scalar is sent as an empty object and the API's complaint is about a missing
field. kshell reads the file first: a syntax error names the file and its 1-based line,
and an object of the wrong kind is caught before the API sees it.
"""

from __future__ import annotations

from kshell import CommandError

from .kinds import KINDS, Kind

# The ``kind`` an object file declares, for each REST name.
DECLARED = {
    "pods": "Pod",
    "replicationControllers": "ReplicationController",
    "services": "Service",
    "minions": "Minion",
}


def load(path: str) -> dict:
    """The object in ``path`` (JSON or YAML); ``CommandError`` (status 2) when it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file", 2) from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a directory, not an object file", 2) from None
    except (OSError, UnicodeDecodeError) as e:
        raise CommandError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}", 2) from None
    if not text.strip():
        raise CommandError(f"{path}: the file is empty; it must hold one object", 2)
    if text.lstrip().startswith(("{", "[")) or path.endswith(".json"):
        import json

        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise CommandError(
                f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}", 2
            ) from None
    else:
        import yaml

        try:
            obj = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise CommandError(f"{where}: not valid YAML: {problem}", 2) from None
    if not isinstance(obj, dict):
        found = "a list" if isinstance(obj, list) else f"a {type(obj).__name__} value"
        raise CommandError(f"{path}: expected one object (a mapping of fields), found {found}", 2)
    return obj


def check_kind(path: str, obj: dict, kind: Kind) -> None:
    """An object that declares another kind is refused, with the command that fits it."""
    declared = obj.get("kind")
    if not declared or declared == DECLARED[kind.name]:
        return
    for other in KINDS:
        if DECLARED[other.name] == declared:
            raise CommandError(
                f"{path} holds a {declared}, not one of {kind.name}; "
                f"give the kind `{other.name}`", 2,
            )  # fmt: skip
    raise CommandError(
        f"{path} declares kind {declared!r}; kubecfg v0.3 knows "
        + ", ".join(DECLARED.values()), 2,
    )  # fmt: skip


def declared_kind(path: str, obj: dict) -> Kind:
    """The kind the object declares (``kind: Pod``), for ``kube create -c FILE`` alone."""
    declared = obj.get("kind")
    for kind in KINDS:
        if DECLARED[kind.name] == declared:
            return kind
    if not declared:
        raise CommandError(f"{path} declares no kind; give it: kube create -c {path} KIND", 2)
    raise CommandError(
        f"{path} declares kind {declared!r}; kubecfg v0.3 knows "
        + ", ".join(DECLARED.values()), 2,
    )  # fmt: skip
