"""etcd plugin: the pinned etcdctl 0.4.6, the ``etcd …`` commands and key completion.

- ``etcd.endpoint`` (``$ETCDCTL_PEERS`` overrides it): the etcd client URL(s).
- ``etcd ls/get/set/mk/mkdir/rm/rmdir/update/setdir/watch`` run the pinned etcdctl
  (``commands.py``); ``etcdctl …`` runs it raw.
- ``etcd tree`` and ``etcd health`` read the v2 HTTP API directly (``tree.py``,
  ``health.py``, ``v2.py``), and so does key completion (``complete.py``).

Nothing heavy is imported here: ``requests`` is loaded when a request is made.
"""

from __future__ import annotations

from kshell import Setting, ToolEnv, hookimpl, raw_tool

from . import endpoint
from .tools import ETCDCTL


@hookimpl
def kshell_settings(register) -> None:
    register(Setting(
        endpoint.SETTING,
        "etcd client URL(s), comma-separated (the seed's ETCDCTL_PEERS)",
        default=endpoint.DEFAULT, validate=endpoint.validate, env=endpoint.ENV,
    ))  # fmt: skip


@hookimpl
def kshell_tools(register) -> None:
    register(ETCDCTL)


@hookimpl
def kshell_tool_env(tool, context):
    if tool != ETCDCTL.name:
        return None
    peers = endpoint.shown(context)
    # 0.4.6 reads ETCDCTL_PEERS (split on commas) and ignores the rest; etcdctl 2.x/3.x
    # need ETCDCTL_API=2 for the v2 commands, and read ETCDCTL_ENDPOINTS before
    # ETCDCTL_PEERS, so a stray ETCDCTL_ENDPOINTS in the shell cannot redirect them.
    return ToolEnv(env={"ETCDCTL_PEERS": peers, "ETCDCTL_ENDPOINTS": peers, "ETCDCTL_API": "2"})


@hookimpl
def kshell_commands(register) -> None:
    from . import commands, health, tree

    for command in commands.commands():
        register(command)
    register(tree.command())
    register(health.command())
    register(raw_tool(ETCDCTL.name, "Run the pinned etcdctl with the context's endpoint"))


@hookimpl
def kshell_status(session):
    from .health import status_lines

    return status_lines(session)


@hookimpl
def kshell_checks(session):
    from .health import checks

    return checks(session)
