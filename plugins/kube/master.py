"""Which API server kubecfg and every REST read talk to.

One function so that the tool environment, completion and health agree: the context's
``kube.master`` (``KUBERNETES_MASTER`` overrides it, as the 2014 procedure exported it).
"""

from __future__ import annotations

from kshell import Context

DEFAULT_MASTER = "http://127.0.0.1:8080"


def normalise(value: str) -> str:
    """The ``kube.master`` setting's validation: an http(s) URL with a host, no path."""
    from urllib.parse import urlsplit

    value = value.strip().rstrip("/")
    if not value:
        raise ValueError("the API server URL is empty (e.g. http://10.1.1.245:8080)")
    if "://" not in value:
        value = f"http://{value}"  # kubecfg v0.3 reads a bare host:port as plain http
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ValueError(f"not a URL: {value} ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the API server must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"no host in {value} (e.g. http://10.1.1.245:8080)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"give only scheme, host and port: {value}")
    return value


def master_url(context: Context) -> str:
    """The API server URL for the current context: the local end of the SSH tunnel while
    one kshell opened for this context is alive (``kube tunnel open``), else ``kube.master``."""
    from .tunnel import local_master

    tunneled = local_master(context.name)
    if tunneled:
        return tunneled
    value = context.get("kube.master") or DEFAULT_MASTER
    try:
        return normalise(value)
    except ValueError:
        return value  # a bad KUBERNETES_MASTER is reported by the setting's validation
