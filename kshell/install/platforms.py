"""The platform key (``linux-amd64`` …) and the release a tool ships for it."""

from __future__ import annotations

import os
import platform as _platform

from kshell import Release, Tool

from .errors import ToolError

_SYSTEMS = {"linux": "linux", "darwin": "darwin", "windows": "windows"}
_MACHINES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "x64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv8": "arm64",
}


def platform_key() -> str:
    """``<os>-<arch>`` of this machine; ``KSHELL_PLATFORM`` overrides it."""
    override = os.environ.get("KSHELL_PLATFORM")
    if override:
        return override.strip()
    system = _platform.system().lower()
    machine = _platform.machine().lower()
    return f"{_SYSTEMS.get(system, system)}-{_MACHINES.get(machine, machine)}"


def release_for(tool: Tool, platform: str) -> Release:
    """The release of ``tool`` for ``platform``, or a one-line error saying what exists."""
    release = tool.releases.get(platform)
    if release is not None:
        return release
    shipped = ", ".join(sorted(tool.releases)) or "none"
    raise ToolError(
        f"{tool.name} {tool.version} was never released for {platform} "
        f"(releases exist for: {shipped}); point kshell at your own binary with "
        f"`bin use {tool.name} PATH`"
    )


def binary_name(tool: Tool, platform: str) -> str:
    """The installed file's name: the tool's name, ``.exe`` on Windows."""
    return f"{tool.name}.exe" if platform.startswith("windows") else tool.name
