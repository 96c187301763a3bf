"""kube plugin: the pinned kubecfg (Kubernetes v0.3) and the API server it talks to.

Only the tool, its setting and the raw ``kubecfg`` command so far; the ``kube …``
commands arrive with their own issue.
"""

from __future__ import annotations

from kshell import Setting, ToolEnv, hookimpl, raw_tool

from .tools import KUBECFG


def _master(value: str) -> str:
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"http://{value}"  # kubecfg v0.3 reads a bare host:port as plain http
    if not value.startswith(("http://", "https://")):
        raise ValueError("the API server must be an http:// or https:// URL")
    return value


@hookimpl
def kshell_settings(register) -> None:
    register(Setting(
        "kube.master", "Kubernetes API server URL (through the SSH tunnel in the seed)",
        default="http://127.0.0.1:8080", validate=_master, env="KUBERNETES_MASTER",
    ))  # fmt: skip


@hookimpl
def kshell_tools(register) -> None:
    register(KUBECFG)


@hookimpl
def kshell_tool_env(tool, context):
    if tool == "kubecfg":
        return ToolEnv(env={"KUBERNETES_MASTER": context.get("kube.master") or ""})
    return None


@hookimpl
def kshell_commands(register) -> None:
    register(raw_tool("kubecfg", "Run the pinned kubecfg with the context's API server"))
