"""The rudder.service and docker.service units of the seed's node cloud-config.

Pure text: the etcd endpoint is the only thing filled in. Rendered either as a
cloud-config ``coreos.units`` snippet or as unit files for fleet (with an
``[X-Fleet]`` section so that every matching machine runs them).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from kshell import is_loopback as kshell_is_loopback

RUDDER_BINARY_URL = "https://storage.googleapis.com/rudder/rudder"

DEFAULT_METADATA = "role=kubernetes"
"""The nodes' fleet metadata in the seed (``metadata: role=kubernetes``)."""

# Characters that stay literal in an ExecStart= line and in YAML: no spaces, no
# quotes, no `%` (a systemd specifier), no `$`, no `\`.
_SAFE_URL = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?/?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?/?"
)
_SAFE_METADATA = re.compile(
    r"[A-Za-z0-9_.\-]+=[A-Za-z0-9_.\-]+(?:,[A-Za-z0-9_.\-]+=[A-Za-z0-9_.\-]+)*"
)


def normalise_endpoint(value: str) -> str:
    """``http://10.1.1.245:4001`` (a bare ``host:port`` gets ``http://``); else ValueError."""
    value = value.strip()
    if "," in value:
        raise ValueError(
            f"{value!r} names several endpoints; rudder (Sept 2014) takes one: pass --etcd URL"
        )
    if "://" not in value:
        value = f"http://{value}"
    value = value.rstrip("/")
    if not _SAFE_URL.fullmatch(value):
        raise ValueError(f"{value!r} is not an etcd URL like http://10.1.1.245:4001")
    try:
        port = urlsplit(value).port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{value!r} has an invalid port")
    return value


def is_loopback(etcd: str) -> bool:
    """True for 127.x, ::1 and localhost: on a node that is the node itself."""
    return kshell_is_loopback(etcd)


def rudder_unit(etcd: str) -> str:
    return f"""\
[Unit]
After=network-online.target
Wants=network-online.target
Description=Rudder is an etcd backed overlay network for containers

[Service]
ExecStartPre=-/usr/bin/mkdir -p /opt/bin
ExecStartPre=/usr/bin/wget -N -P /opt/bin {RUDDER_BINARY_URL}
ExecStartPre=/usr/bin/chmod +x /opt/bin/rudder
ExecStart=/opt/bin/rudder -etcd-endpoint {etcd}
"""


_DOCKER_EXEC = (
    "/usr/bin/docker -d --bip=${RUDDER_SUBNET} --mtu=${RUDDER_MTU} -s=btrfs -H fd:// "
    "--iptables=false"
)

DOCKER_UNIT = f"""\
[Unit]
After=rudder.service
Wants=rudder.service
Description=Docker Application Container Engine
Documentation=http://docs.docker.io

[Service]
EnvironmentFile=/run/rudder/subnet.env
ExecStartPre=/bin/mount --make-rprivate /
ExecStart={_DOCKER_EXEC}

[Install]
WantedBy=multi-user.target
"""


def unit_files(etcd: str, metadata: str = DEFAULT_METADATA) -> dict[str, str]:
    """The two units for fleet: global, on the machines with ``metadata`` ("" for all)."""
    if metadata and not _SAFE_METADATA.fullmatch(metadata):
        raise ValueError(f"{metadata!r} is not fleet metadata like role=kubernetes")
    fleet = "\n[X-Fleet]\nGlobal=true\n" + (f"MachineMetadata={metadata}\n" if metadata else "")
    return {
        "rudder.service": rudder_unit(etcd) + fleet,
        "docker.service": DOCKER_UNIT + fleet,
    }


def cloud_config(etcd: str) -> str:
    """A cloud-config whose ``coreos.units`` carries the two units, as in the seed."""
    lines = [
        "#cloud-config",
        "",
        "coreos:",
        "  units:",
    ]
    for name, text in (("rudder.service", rudder_unit(etcd)), ("docker.service", DOCKER_UNIT)):
        lines += [f"    - name: {name}", "      command: start", "      content: |"]
        lines += [f"        {line}" if line else "" for line in text.splitlines()]
    return "\n".join(lines) + "\n"
