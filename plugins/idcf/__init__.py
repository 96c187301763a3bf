"""idcf plugin: IDCF Cloud machines through its compute API (Apache CloudStack).

The seed registered a CoreOS ISO, created an etcd host and three nodes in the portal
and wrote a cloud-config for each role; these commands do it from kshell:

- ``idcf zones|offerings|disk-offerings|templates|isos|vms|ips`` list (``--json``);
- ``idcf iso register``, ``idcf deploy``, ``idcf start|stop|reboot|destroy``,
  ``idcf forward``, ``idcf keypair list|register`` change things (names or ids);
- ``idcf cloud-config etcd|node`` render the seed's two cloud-configs;
- ``idcf credentials`` says where the endpoint and keys come from (never the secret).

Modules: ``signing`` (the signature), ``client`` (requests, paging, jobs, errors),
``credentials`` (settings, files, variables), ``resolve`` (names → ids), ``commands``,
``complete``, ``checks``, ``cloudconfig``. Nothing heavy is imported here.
"""

from __future__ import annotations

import argparse

from kshell import Command, Setting, hookimpl, lazy

from .complete import completer

# The credentials module (dataclasses, regexes) loads on first use, not at every start.
REGIONS = ("jp-east", "jp-east-2", "jp-east-3", "jp-west")
ENV_HOST = "IDCF_COMPUTE_HOST"


def _check(name: str):
    return lazy(f"{__package__}.credentials", name)


def _lazy(name: str, *args: str):
    return lazy(f"{__package__}.commands", name, *args)


def _timeout(value: str) -> str:
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError("must be a number of seconds") from None
    if not seconds > 0:  # nan too: a job poll compared with nan would never time out
        raise ValueError("must be more than 0 seconds")
    if not seconds <= 86400:  # also inf and 1e999: a wait with no end
        raise ValueError("must be at most 86400 seconds (a day)")
    return f"{seconds:g}"


@hookimpl
def kshell_settings(register) -> None:
    register(Setting(
        "idcf.region", f"IDCF Cloud region: {', '.join(REGIONS)}",
        validate=_check("validate_region"), choices=REGIONS,
    ))  # fmt: skip
    register(Setting(
        "idcf.endpoint", "compute API URL (instead of a region), e.g. "
        "https://compute.jp-east.idcfcloud.com/client/api",
        validate=_check("validate_endpoint"), env=ENV_HOST,
    ))  # fmt: skip
    register(Setting(
        "idcf.config", "credentials file (default ~/.idcfrc, then ~/.idcfcloud/config.ini)",
        validate=_check("validate_config_path"),
    ))  # fmt: skip
    register(Setting(
        "idcf.profile", "profile of ~/.idcfcloud/config.ini (over [default])",
        default="default", validate=_check("validate_profile"),
    ))  # fmt: skip
    register(Setting("idcf.zone", "zone used when a command gets no --zone (name or id)"))
    register(Setting(
        "idcf.timeout", "seconds to wait for a job or an ISO download", default="900",
        validate=_timeout,
    ))  # fmt: skip


_zones = completer("zone")
_vms = completer("VM")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _zone_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--zone", metavar="Z", help="only this zone (name or id)")
    _json(p)


def _isos_args(p: argparse.ArgumentParser) -> None:
    _zone_json(p)
    p.add_argument("--all", action="store_true", help="public and featured ISOs too")


def _iso_register_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="name of the ISO")
    p.add_argument("url", help="http(s) URL the cloud downloads it from")
    p.add_argument("--zone", metavar="Z", help="zone (default: idcf.zone, or the only one)")
    p.add_argument("--ostype", metavar="T", default="Other Linux (64-bit)",
                   help="OS type description (default: Other Linux (64-bit))")  # fmt: skip
    p.add_argument("--no-wait", action="store_true", help="return before the download ends")


def _deploy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="host name of the new VM")
    image = p.add_mutually_exclusive_group(required=True)
    image.add_argument("--iso", metavar="X", help="boot from this ISO (name or id)")
    image.add_argument("--template", metavar="X", help="from this template (name or id)")
    p.add_argument("--offering", metavar="O", required=True, help="service offering")
    p.add_argument("--disk-offering", metavar="D", help="root disk (needed with --iso)")
    p.add_argument("--size", type=int, metavar="GB", help="disk size for a custom disk offering")
    p.add_argument("--zone", metavar="Z", help="zone (default: idcf.zone, or the only one)")
    p.add_argument("--userdata", metavar="FILE", help="cloud-config or script (≤ 32 KB Base64)")
    p.add_argument("--keypair", metavar="K", help="SSH key pair for the template's user")


def _vm_args(action: str):
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("vm", metavar="VM", help="name or id")
        if action == "destroy":
            p.add_argument("--yes", action="store_true", help="do not ask (recipes)")
            p.add_argument("--expunge", action="store_true",
                           help="expunge at once (if the cloud permits it)")  # fmt: skip
        if action == "stop":
            p.add_argument("--force", action="store_true", help="forced stop")

    return add


def _forward_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("vm", metavar="VM", help="name or id")
    p.add_argument("port", type=int, help="the VM's port (22 for SSH)")
    p.add_argument("--public-port", type=int, metavar="P", help="public port (default: PORT)")
    p.add_argument("--protocol", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--cidr", default="0.0.0.0/0", help="allowed sources (default 0.0.0.0/0)")


def _keypair_register_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("pubkeyfile", help="an OpenSSH public key file (id_rsa.pub)")


def _cloud_config_args(role: str):
    def add(p: argparse.ArgumentParser) -> None:
        if role == "etcd":
            p.add_argument("--ip", required=True, help="the etcd host's fixed private address")
            p.add_argument("--hostname", default="etcd", help="host and etcd name (etcd)")
        else:
            p.add_argument("--etcd", required=True, metavar="URL",
                           help="the etcd host's client URL, e.g. http://10.1.1.245:4001")
            p.add_argument("--metadata", default="role=kubernetes",
                           help="fleet metadata (role=kubernetes)")  # fmt: skip
        p.add_argument("--ssh-key", required=True, action="append", metavar="FILE",
                       help="public key file for user core (repeatable)")  # fmt: skip
        p.add_argument("--channel", choices=("alpha", "beta", "stable"), default="alpha",
                       help="CoreOS update group (alpha, as in the seed)")  # fmt: skip
        p.add_argument("--out", metavar="FILE", help="write to FILE (atomically) instead")
        p.add_argument("--force", action="store_true", help="replace a different FILE")
        p.set_defaults(role=role)

    return add


@hookimpl
def kshell_commands(register) -> None:
    listing = (
        ("zones", "List the zones", "zones", _json, {}),
        ("offerings", "List the service offerings (CPU, memory)", "offerings", _json, {}),
        ("disk-offerings", "List the disk offerings", "disk_offerings", _json, {}),
        ("templates", "List the templates you can deploy", "templates", _zone_json,
         {"zone": _zones}),
        ("isos", "List your ISOs (--all: public ones too)", "isos", _isos_args,
         {"zone": _zones}),
        ("vms", "List the VMs: name, state, zone, addresses", "vms", _zone_json,
         {"zone": _zones}),
        ("ips", "List the public addresses and their port forwards", "ips", _json, {}),
        ("keypair list", "List the SSH key pairs", "keypair_list", _json, {}),
    )  # fmt: skip
    for name, help_, handler, arguments, completers in listing:
        register(Command(f"idcf {name}", help_, _lazy(handler), arguments=arguments,
                         completers=completers, read_only=True))  # fmt: skip
    register(Command(
        "idcf credentials", "Where the endpoint and keys come from (secret never shown)",
        _lazy("show_credentials"), read_only=True,
    ))  # fmt: skip
    register(Command(
        "idcf job", "Show an async job's state and result", _lazy("job"),
        arguments=lambda p: p.add_argument("jobid"), read_only=True,
    ))  # fmt: skip
    register(Command(
        "idcf iso register", "Register an ISO by URL and wait until it is ready",
        _lazy("iso_register"), arguments=_iso_register_args, completers={"zone": _zones},
    ))  # fmt: skip
    register(Command(
        "idcf deploy", "Create a VM from an ISO or a template; prints it and its address",
        _lazy("deploy"), arguments=_deploy_args,
        completers={
            "zone": _zones, "iso": completer("ISO"), "template": completer("template"),
            "offering": completer("offering"), "disk_offering": completer("disk offering"),
            "keypair": completer("key pair"),
        },
        description="An ISO deploy needs --disk-offering (the root disk). --userdata takes "
        "a file such as `idcf cloud-config node` writes; it is sent Base64, by POST.",
    ))  # fmt: skip
    for action, help_ in (
        ("start", "Start a stopped VM"),
        ("stop", "Stop a VM"),
        ("reboot", "Reboot a VM"),
        ("destroy", "Destroy a VM (asks first; --yes in recipes)"),
    ):
        register(Command(f"idcf {action}", help_, _lazy("vm_action", action),
                         arguments=_vm_args(action), completers={"vm": _vms}))  # fmt: skip
    register(Command(
        "idcf forward", "Open a port of a VM on its zone's public address",
        _lazy("forward"), arguments=_forward_args, completers={"vm": _vms},
        description="Creates a firewall rule (unless one covers the port) and a port "
        "forwarding rule on the source NAT address of the VM's zone.",
    ))  # fmt: skip
    register(Command(
        "idcf keypair register", "Register an SSH public key as a key pair",
        _lazy("keypair_register"), arguments=_keypair_register_args,
    ))  # fmt: skip
    register(Command(
        "idcf cloud-config etcd", "Render the seed's cloud-config for the etcd host",
        _lazy("cloud_config"), arguments=_cloud_config_args("etcd"), read_only=True,
    ))  # fmt: skip
    register(Command(
        "idcf cloud-config node", "Render the seed's cloud-config for a Kubernetes node",
        _lazy("cloud_config"), arguments=_cloud_config_args("node"), read_only=True,
    ))  # fmt: skip


@hookimpl
def kshell_status(session):
    from .checks import status

    return status(session)


@hookimpl
def kshell_checks(session):
    from .checks import checks

    return checks(session)


@hookimpl
def kshell_context_sources(session):
    from .checks import context_rows

    return context_rows(session)
