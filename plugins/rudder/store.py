"""rudder's keys in etcd.

Read and written through kshell's etcd API (``session.etcd()``: the v2 HTTP API at the
context's ``etcd.endpoint``), the same path any plugin uses: no etcdctl output is
parsed, every call has a timeout and fails in one line, and a dry run prints the
writes instead of making them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kshell import Etcd, Session

CONFIG_KEY = "/coreos.com/network/config"
SUBNETS_KEY = "/coreos.com/network/subnets"
MACHINES_KEY = "/_coreos.com/fleet/machines"

TIMEOUT = 10.0  # seconds per request


def etcd(session: Session, timeout: float = TIMEOUT) -> Etcd:
    """The context's etcd."""
    return session.etcd(timeout)
