"""rudder plugin: the overlay network's config and leases in etcd, and the node units.

Rudder (renamed flannel at the end of September 2014) reads its network from
``/coreos.com/network/config`` and leases one subnet per host under
``/coreos.com/network/subnets/``. This plugin reads and writes those keys through the
pinned etcdctl (``session.run("etcdctl", …)``; the etcd plugin points it at the
context's endpoint) and renders the two units the seed's node cloud-config carries.

Commands: ``rudder config``, ``rudder config set``, ``rudder subnets``, ``rudder units``.
It is also the example of a kshell plugin: it imports only ``kshell`` and its own
modules, registers commands, a status line and doctor checks.
"""

from __future__ import annotations

from kshell import hookimpl

from . import checks as _checks
from .commands import COMMANDS


@hookimpl
def kshell_commands(register) -> None:
    for command in COMMANDS:
        register(command)


@hookimpl
def kshell_status(session):
    return _checks.status(session)


@hookimpl
def kshell_checks(session):
    return _checks.checks(session)
