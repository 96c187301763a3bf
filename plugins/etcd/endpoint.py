"""The ``etcd.endpoint`` setting: one or more http(s) URLs of the etcd client API."""

from __future__ import annotations

SETTING = "etcd.endpoint"
DEFAULT = "http://127.0.0.1:4001"
ENV = "ETCDCTL_PEERS"  # what the seed's operators export; etcdctl 0.4.6 reads it too


def _one(item: str) -> str:
    from urllib.parse import urlsplit

    item = item.strip()
    if not item:
        raise ValueError("empty URL in the list")
    if "://" not in item:
        item = f"http://{item}"  # etcdctl 0.4.6 accepts a bare IP:port as plain http
    try:
        url = urlsplit(item)
        port = url.port
    except ValueError as e:
        raise ValueError(f"`{item}` is not a URL ({e})") from None
    if url.scheme not in ("http", "https"):
        raise ValueError(f"`{item}` must be an http:// or https:// URL")
    if not url.hostname:
        raise ValueError(f"`{item}` has no host")
    if url.username or url.password:
        raise ValueError(f"`{item}` must not carry a user name or password")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError(f"`{item}` must be scheme://host:port only (no path or query)")
    host = url.hostname if ":" not in url.hostname else f"[{url.hostname}]"
    return f"{url.scheme}://{host}" + (f":{port}" if port else "")


def validate(value: str) -> str:
    """Normalise ``value`` (comma list allowed) or raise ``ValueError`` with the reason."""
    return ",".join(_one(item) for item in value.split(","))


def endpoints(context) -> list[str]:
    """The context's etcd URLs; raises ``ValueError`` when the value is not valid."""
    return validate(context.get(SETTING) or DEFAULT).split(",")


def shown(context) -> str:
    """The endpoint as written in messages (normalised when it is valid)."""
    raw = context.get(SETTING) or DEFAULT
    try:
        return validate(raw)
    except ValueError:
        return raw


def from_env(context) -> bool:
    """The endpoint comes from ``$ETCDCTL_PEERS``, not from the context."""
    return context.source(SETTING).startswith("env ")


def fix_hint(context) -> str:
    """What to do about a wrong endpoint, depending on where it comes from."""
    if from_env(context):
        return f"check ${ENV} (it overrides the context) or unset it"
    return "check `context` or `context set etcd.endpoint URL`"


def cannot_reach(context, reason: str) -> str:
    """The one line said when etcd does not answer."""
    return f"cannot reach etcd at {shown(context)} ({reason}); {fix_hint(context)}"


def client(context, timeout: float):
    """A v2 client for the context; an invalid endpoint is a one-line CommandError."""
    from kshell import CommandError

    from .v2 import Client

    try:
        urls = endpoints(context)
    except ValueError as e:
        message = f"invalid etcd.endpoint `{shown(context)}`: {e}; {fix_hint(context)}"
        raise CommandError(message, 2) from None
    return Client(urls, timeout=timeout)
