"""The fleet.* context settings and the global flags fleetctl gets from them."""

from __future__ import annotations

import os

from kshell import Setting

DEFAULT_ENDPOINT = "http://127.0.0.1:4001"
DEFAULT_PREFIX = "/_coreos.com/fleet/"
DEFAULT_REQUEST_TIMEOUT = "3"


def one_endpoint(value: str) -> str:
    """One etcd URL as fleetctl 0.8.1 accepts it (it does not split a list)."""
    value = value.strip()
    if "," in value:
        raise ValueError(
            "fleetctl 0.8.1 takes one etcd URL, not a list; pick one member, "
            "e.g. http://10.1.1.245:4001"
        )
    if not value:
        raise ValueError("the endpoint is empty")
    if "://" not in value:
        value = f"http://{value}"
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the endpoint must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("the endpoint has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("the endpoint must be scheme://host:port, with no path, query or user")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise ValueError(f"bad port in {value}") from e
    return value.rstrip("/")


def tunnel(value: str) -> str:
    value = value.strip()
    if "://" in value or "/" in value or "@" in value:
        raise ValueError("the tunnel is host[:port] (fleetctl always logs in as core)")
    host, sep, port = value.rpartition(":") if ":" in value else (value, "", "")
    if not host:
        raise ValueError("the tunnel needs a host")
    if sep and not port.isdigit():
        raise ValueError(f"bad port `{port}`")
    return value


def key_prefix(value: str) -> str:
    value = value.strip()
    if not value.startswith("/"):
        raise ValueError("the key prefix is an absolute etcd key, e.g. /_coreos.com/fleet/")
    return value if value.endswith("/") else value + "/"


def seconds(value: str) -> str:
    try:
        number = float(value)
    except ValueError as e:
        raise ValueError("a number of seconds, e.g. 3 or 0.5") from e
    if not number > 0:
        raise ValueError("must be more than 0")
    if not number <= 86400:  # also refuses inf: fleetctl and the wait would never end
        raise ValueError("must be at most 86400 (a day)")
    return value.strip()


def boolean(value: str) -> str:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return "true"
    if lowered in ("false", "0", "no", "off"):
        return "false"
    raise ValueError("true or false")


SETTINGS = (
    Setting(
        "fleet.endpoint",
        "etcd URL fleetctl talks to (one URL); unset: the first etcd.endpoint, else "
        + DEFAULT_ENDPOINT,
        validate=one_endpoint,
        env="FLEETCTL_ENDPOINT",
    ),
    Setting(
        "fleet.tunnel",
        "SSH bastion host[:port] fleetctl reaches the cluster through (user core)",
        validate=tunnel,
        env="FLEETCTL_TUNNEL",
    ),
    Setting(
        "fleet.etcd-key-prefix",
        "where fleet keeps its state in etcd",
        default=DEFAULT_PREFIX,
        validate=key_prefix,
        env="FLEETCTL_ETCD_KEY_PREFIX",
    ),
    Setting(
        "fleet.strict-host-key-checking",
        "verify SSH host keys (fleet ssh, status, journal, tunnel)",
        default="true",
        validate=boolean,
        env="FLEETCTL_STRICT_HOST_KEY_CHECKING",
    ),
    Setting(
        "fleet.known-hosts-file",
        "known_hosts file for fleetctl's SSH (fleetctl's default: ~/.fleetctl/known_hosts)",
        env="FLEETCTL_KNOWN_HOSTS_FILE",
    ),
    Setting(
        "fleet.request-timeout",
        "seconds fleetctl allows one etcd request, retries included",
        default=DEFAULT_REQUEST_TIMEOUT,
        validate=seconds,
        env="FLEETCTL_REQUEST_TIMEOUT",
    ),
)


def endpoint(context) -> str:
    """The one URL fleetctl gets: fleet.endpoint, else the first etcd.endpoint, else default."""
    value = context.get("fleet.endpoint")
    if not value:
        etcd = context.get("etcd.endpoint")
        if etcd:
            first = etcd.split(",")[0].strip()
            if first:
                try:
                    return one_endpoint(first)
                except ValueError:
                    return first
        return DEFAULT_ENDPOINT
    value = value.strip()
    try:
        return one_endpoint(value)
    except ValueError:
        return value  # passed as given: fleetctl says what is wrong with it


def prefix(context) -> str:
    return context.get("fleet.etcd-key-prefix") or DEFAULT_PREFIX


def request_timeout(context) -> float:
    try:
        value = float(context.get("fleet.request-timeout") or DEFAULT_REQUEST_TIMEOUT)
    except ValueError:
        value = float(DEFAULT_REQUEST_TIMEOUT)
    return value if 0 < value <= 86400 else float(DEFAULT_REQUEST_TIMEOUT)


def global_flags(context) -> list[str]:
    """fleetctl's global flags for ``context``; they go before the command name."""
    flags = [f"--endpoint={endpoint(context)}"]
    value = context.get("fleet.etcd-key-prefix")
    if value and value != DEFAULT_PREFIX:
        flags.append(f"--etcd-key-prefix={value}")
    flags.append(f"--request-timeout={request_timeout(context):g}")
    value = context.get("fleet.tunnel")
    if value:
        flags.append(f"--tunnel={value.strip()}")
    value = context.get("fleet.strict-host-key-checking")
    if value:
        try:
            value = boolean(value)
        except ValueError:
            pass
        if value != "true":
            flags.append(f"--strict-host-key-checking={value}")
    value = context.get("fleet.known-hosts-file")
    if value:
        flags.append(f"--known-hosts-file={os.path.expanduser(value)}")
    return flags
