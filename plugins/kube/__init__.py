"""kube plugin: the pinned kubecfg (Kubernetes v0.3) and the API server it talks to.

- setting ``kube.master`` (``KUBERNETES_MASTER`` overrides it, as the 2014 procedure
  exported it); kubecfg gets it as its leading ``-h URL`` flag, so ``env kubecfg`` shows
  exactly the host it uses; ``master.master_url`` is that URL for every REST read;
- ``kube pods|minions|services|rcs``, ``kube get|create|update|delete``, ``kube run|resize|
  stop|rm|rollingupdate`` over kubecfg, kubecfg's glog failures as one line, kinds as users
  type them, completion of kinds and IDs from the API (``commands``, ``handlers``,
  ``complete``);
- the SSH tunnel, the unit set, master health and waits (``ops``);
- raw ``kubecfg …`` runs the pinned binary with the context's master.

Nothing here imports requests, yaml or sh: the handlers and completers do, on first use.
"""

from __future__ import annotations

from kshell import Setting, ToolEnv, hookimpl, raw_tool

from . import ops
from .master import DEFAULT_MASTER, master_url, normalise
from .tools import KUBECFG


@hookimpl
def kshell_settings(register) -> None:
    register(Setting(
        "kube.master", "Kubernetes API server URL (the tunnel's local end while one is open)",
        default=DEFAULT_MASTER, validate=normalise, env="KUBERNETES_MASTER",
    ))  # fmt: skip
    for setting in ops.settings():
        register(setting)


@hookimpl
def kshell_tools(register) -> None:
    register(KUBECFG)


@hookimpl
def kshell_tool_env(tool, context):
    if tool == "kubecfg":
        # -h is kubecfg v0.3's host flag (not help) and must come before the verb
        return ToolEnv(args=("-h", master_url(context)))
    return None


@hookimpl
def kshell_commands(register) -> None:
    from .commands import commands

    for command in commands():
        register(command)
    for command in ops.commands():
        register(command)
    register(raw_tool("kubecfg", "Run the pinned kubecfg with the context's API server"))


@hookimpl
def kshell_status(session):
    return ops.status(session)


@hookimpl
def kshell_checks(session):
    return ops.checks(session)
