"""The hook specifications pluggy validates implementations against.

Plugin authors read the hooks' contract in the public API module, ``kshell`` (its
docstring, section "Hooks"); this module only declares them. A test keeps the two
in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pluggy

from kshell import Check, Command, Context, Session, Setting, Tool, ToolEnv

hookspec = pluggy.HookspecMarker("kshell")


@hookspec
def kshell_commands(register: Callable[[Command], None]) -> None:
    """Register the plugin's commands."""


@hookspec
def kshell_tools(register: Callable[[Tool], None]) -> None:
    """Register the pinned binaries the plugin wraps."""


@hookspec
def kshell_settings(register: Callable[[Setting], None]) -> None:
    """Register the context settings the plugin reads."""


@hookspec
def kshell_tool_env(tool: str, context: Context) -> ToolEnv | None:
    """Environment and leading flags ``tool`` needs from ``context`` (None: nothing)."""


@hookspec
def kshell_status(session: Session) -> Iterable[str] | None:
    """Lines for the one-screen ``status``. Keep it fast: a short timeout per call."""


@hookspec
def kshell_checks(session: Session) -> Iterable[Check] | None:
    """Findings for ``doctor``."""


@hookspec
def kshell_context_sources(session: Session) -> Iterable[tuple[str, str, str]] | None:
    """Rows ``(what, value, from)`` that ``context`` adds below the settings, for values a
    plugin finds itself (a credentials file, variables). Mask secrets; read no network."""
