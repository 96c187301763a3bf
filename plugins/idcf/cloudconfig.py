"""The seed's two cloud-configs: the etcd host, and a Kubernetes node (fleet, rudder, docker).

Rendered as text in the seed's own layout (units' ``content`` as literal blocks), with
every filled-in value validated first so the result is always valid YAML. Strings that
YAML 1.1 would read as something else are quoted: ``reboot-strategy: "off"`` (bare
``off`` is a boolean to YAML 1.1 parsers), SSH keys (a `` #`` in a key's comment would
start a YAML comment).
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import urlsplit

RUDDER_URL = "https://storage.googleapis.com/rudder/rudder"
SNENV_URL = "http://storage.googleapis.com/snenv/setup-network-environment"
CHANNELS = ("alpha", "beta", "stable")
_KEY = re.compile(r"(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+=*( .*)?")
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_ETCD_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


def read_ssh_keys(path: str) -> list[str]:
    """The public keys in ``path`` (an ``id_rsa.pub`` or ``authorized_keys``)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read SSH key file {path}: {getattr(e, 'strerror', e)}") from None
    if "PRIVATE KEY" in text:
        raise ValueError(f"{path} is a private key; pass the public one ({path}.pub)")
    keys = [line.strip() for line in text.splitlines() if line.strip()
            and not line.lstrip().startswith("#")]  # fmt: skip
    bad = [k for k in keys if not _KEY.fullmatch(k)]
    if not keys or bad:
        raise ValueError(f"{path} holds no OpenSSH public key like `ssh-rsa AAAA… user@host`")
    return keys


def validate_ip(value: str) -> str:
    try:
        return str(IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(f"`{value}` is not an IPv4 address like 10.1.1.245") from None


def validate_etcd_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"http://{value}"
    if "," in value or not _ETCD_URL.fullmatch(value):
        raise ValueError(f"`{value}` is not one etcd URL like http://10.1.1.245:4001")
    port = urlsplit(value).port
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"`{value}` has an invalid port")
    return value


def validate_hostname(value: str) -> str:
    if not _HOSTNAME.fullmatch(value):
        raise ValueError(f"`{value}` is not a host name (lower-case letters, digits, -)")
    return value


def _block(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}{line}" if line else "" for line in text.splitlines()]


def _tail(channel: str, keys: list[str]) -> list[str]:
    lines = ["  update:", f"    group: {channel}", '    reboot-strategy: "off"']
    lines.append("ssh_authorized_keys:")
    lines += [f"  - {json.dumps(key)}" for key in keys]
    return lines


def etcd(ip: str, keys: list[str], hostname: str = "etcd", channel: str = "alpha") -> str:
    """The etcd host: etcd 0.4 on ``ip`` (4001 clients, 7001 peers), fleet role=etcd."""
    ip = validate_ip(ip)
    hostname = validate_hostname(hostname)
    lines = [
        "#cloud-config",
        "",
        f"hostname: {hostname}",
        "coreos:",
        "  fleet:",
        "    etcd_servers: http://127.0.0.1:4001",
        "    metadata: role=etcd",
        "  etcd:",
        f"    name: {hostname}",
        f"    addr: {ip}:4001",
        "    bind-addr: 0.0.0.0",
        f"    peer-addr: {ip}:7001",
        "    cluster-active-size: 1",
        "    snapshot: true",
        "  units:",
        "    - name: etcd.service",
        "      command: start",
        "    - name: fleet.service",
        "      command: start",
        "    - name: docker.service",
        "      mask: true",
        *_tail(channel, keys),
    ]
    return "\n".join(lines) + "\n"


def rudder_unit(etcd_url: str) -> str:
    return f"""\
[Unit]
After=network-online.target
Wants=network-online.target
Description=Rudder is an etcd backed overlay network for containers

[Service]
ExecStartPre=-/usr/bin/mkdir -p /opt/bin
ExecStartPre=/usr/bin/wget -N -P /opt/bin {RUDDER_URL}
ExecStartPre=/usr/bin/chmod +x /opt/bin/rudder
ExecStart=/opt/bin/rudder -etcd-endpoint {etcd_url}
"""


DOCKER_UNIT = """\
[Unit]
After=rudder.service
Wants=rudder.service
Description=Docker Application Container Engine
Documentation=http://docs.docker.io

[Service]
EnvironmentFile=/run/rudder/subnet.env
ExecStartPre=/bin/mount --make-rprivate /
ExecStart=/usr/bin/docker -d --bip=${RUDDER_SUBNET} --mtu=${RUDDER_MTU} -s=btrfs -H fd:// \
--iptables=false

[Install]
WantedBy=multi-user.target
"""

SNENV_UNIT = f"""\
[Unit]
Description=Setup Network Environment
Documentation=https://github.com/kelseyhightower/setup-network-environment
Requires=network-online.target
After=network-online.target

[Service]
ExecStartPre=-/usr/bin/mkdir -p /opt/bin
ExecStartPre=/usr/bin/wget -N -P /opt/bin {SNENV_URL}
ExecStartPre=/usr/bin/chmod +x /opt/bin/setup-network-environment
ExecStart=/opt/bin/setup-network-environment
RemainAfterExit=yes
Type=oneshot
"""


def node(
    etcd_url: str, keys: list[str], metadata: str = "role=kubernetes", channel: str = "alpha"
) -> str:
    """A Kubernetes node: fleet against ``etcd_url``, rudder, docker on rudder's subnet."""
    etcd_url = validate_etcd_url(etcd_url)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]+)*",
                        metadata):  # fmt: skip
        raise ValueError(f"`{metadata}` is not fleet metadata like role=kubernetes")
    lines = [
        "#cloud-config",
        "",
        "coreos:",
        "  fleet:",
        f"    etcd_servers: {etcd_url}",
        f"    metadata: {metadata}",
        "  units:",
        "    - name: etcd.service",
        "      mask: true",
        "    - name: fleet.service",
        "      command: start",
    ]
    for name, text in (
        ("rudder.service", rudder_unit(etcd_url)),
        ("docker.service", DOCKER_UNIT),
        ("setup-network-environment.service", SNENV_UNIT),
    ):
        lines += [f"    - name: {name}", "      command: start", "      content: |"]
        lines += _block(text, 8)
    lines += _tail(channel, keys)
    return "\n".join(lines) + "\n"
