"""rudder plugin: the overlay network's config and leases in etcd, and the node units.

Rudder (renamed flannel at the end of September 2014) reads its network from
``/coreos.com/network/config`` and leases one subnet per host under
``/coreos.com/network/subnets/``. This plugin reads and writes those keys with
kshell's etcd API (``session.etcd()``: the v2 HTTP API at the context's
``etcd.endpoint``) and renders the two units the seed's node cloud-config carries.

Commands: ``rudder config``, ``rudder config set``, ``rudder subnets``, ``rudder units``.
It is also the example of a kshell plugin: it imports only ``kshell`` and its own
modules, registers commands, a status line and doctor checks.
"""

from __future__ import annotations

import argparse

from kshell import Command, hookimpl, lazy

# Handlers live in .commands and .checks, imported on first use: every plugin's
# import time is paid at each kshell start, so a plugin module stays this light.
BACKENDS = ("udp",)
FORMATS = ("cloud-config", "fleet")


def _lazy(name: str):
    return lazy(f"{__package__}.commands", name)


def _complete_endpoint(session, prefix: str) -> list[str]:
    current = session.context.get("etcd.endpoint")
    return [current] if current and current.startswith(prefix) else []


def _json_flag(what: str):
    return lambda p: p.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--network", required=True, metavar="CIDR", help="the overlay network, e.g. 10.0.0.0/16"
    )
    p.add_argument(
        "--subnet-len",
        type=int,
        metavar="N",
        help="each host's subnet prefix length (default 24; prefix+1 for a /24 or smaller)",
    )
    p.add_argument("--subnet-min", metavar="A", help="first subnet handed out, e.g. 10.0.1.0")
    p.add_argument("--subnet-max", metavar="B", help="last subnet handed out, e.g. 10.0.255.0")
    p.add_argument("--backend", choices=BACKENDS, help="packet transport (udp)")
    p.add_argument("--force", action="store_true", help="replace a different existing config")


def _units_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--etcd",
        metavar="URL",
        help="etcd endpoint rudder uses (default: the context's etcd.endpoint)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="cloud-config",
        help="a cloud-config coreos.units snippet, or unit files for fleet",
    )
    p.add_argument("--output", metavar="DIR", help="write the files into DIR instead of printing")
    p.add_argument(
        "--metadata",
        default="role=kubernetes",
        metavar="K=V",
        help="fleet MachineMetadata of the nodes (fleet format; '' for every machine)",
    )


@hookimpl
def kshell_commands(register) -> None:
    register(
        Command(
            "rudder config",
            "Show rudder's network config, checked",
            _lazy("config_show"),
            arguments=_json_flag("the config"),
            read_only=True,
        )
    )
    register(
        Command(
            "rudder config set",
            "Create rudder's network config (validated)",
            _lazy("config_set"),
            arguments=_set_args,
            description="Write /coreos.com/network/config. Creates it when absent, does nothing "
            "when the same, and replaces a different one only with --force.",
        )
    )
    register(
        Command(
            "rudder subnets",
            "List the subnet leases: subnet, public IP, time left",
            _lazy("subnets"),
            arguments=_json_flag("the leases"),
            read_only=True,
        )
    )
    register(
        Command(
            "rudder units",
            "Render rudder.service and docker.service for the nodes",
            _lazy("render_units"),
            arguments=_units_args,
            completers={"etcd": _complete_endpoint},
        )
    )


@hookimpl
def kshell_status(session):
    from .checks import status

    return status(session)


@hookimpl
def kshell_checks(session):
    from .checks import checks

    return checks(session)
