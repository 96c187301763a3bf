"""kshell's plugin API: the only module a plugin imports.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names
are the hooks in ``kshell.hookspecs``, registered under the entry-point group
``kshell``::

    [project.entry-points.kshell]
    hello = "kshell_hello"

and in ``kshell_hello.py``::

    from kshell import Command, hookimpl

    def _hello(session, args):
        session.echo(f"hello {args.name}")

    @hookimpl
    def kshell_commands(register):
        register(Command("hello", "Say hello", _hello,
                         arguments=lambda p: p.add_argument("name"),
                         completers={"name": lambda session, prefix: ["world"]}))

Handlers receive a :class:`Session` and the parsed ``argparse.Namespace`` and
return an exit status (``None`` means 0). Raise :class:`CommandError` for a
failure the user should read as one line. Import heavy modules (requests, yaml)
inside functions, never at module import: start-up time is shared by every plugin.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("kshell")
"""Marks a plugin function as the implementation of a kshell hook."""

T = TypeVar("T")


class CommandError(Exception):
    """A failure reported to the user as one line, with an exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Candidate:
    """One completion: the text inserted and a short description beside it."""

    text: str
    meta: str = ""


Completer = Callable[["Session", str], Iterable["str | Candidate"]]
"""Called with the session and the word typed so far; returns candidates.

Completers run on every keystroke: anything that needs the network must go
through :meth:`Session.cached`, which answers at once and refreshes in the
background.
"""

Handler = Callable[["Session", argparse.Namespace], "int | None"]


@dataclass
class Command:
    """A command the user can type: at the prompt, with ``kshell -c``, in recipes.

    ``name`` may have several words (``"fleet start"``); the longest registered
    name that matches the typed words wins. ``arguments`` adds arguments to the
    command's own ``argparse`` parser; ``completers`` maps an argument's ``dest``
    to the function that completes it.
    """

    name: str
    help: str
    handler: Handler
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    completers: Mapping[str, Completer] = field(default_factory=dict)
    description: str = ""
    read_only: bool = False
    """True when the command changes nothing; recipes' ``--dry-run`` runs it."""
    passthrough: bool = False
    """No parsing: every word after the name arrives as ``args.args`` (raw tools)."""


def raw_tool(tool: str, help: str) -> Command:
    """The raw form of a wrapped tool: ``etcdctl …`` runs the pinned binary as typed."""

    def run(session: Session, args: argparse.Namespace) -> int:
        return session.run(tool, args.args, terminal=session.interactive).status

    return Command(tool, help, run, passthrough=True)


@dataclass(frozen=True)
class Release:
    """Where one platform's build of a pinned tool comes from."""

    url: str
    archive: Literal["tar.gz", "zip", "binary"]
    member: str = ""
    """Path of the binary inside the archive (empty for ``binary``)."""
    sha256: str | None = None
    """Known digest; ``None`` means trust on first use, recorded and then enforced."""


@dataclass(frozen=True)
class Tool:
    """A binary a plugin wraps, pinned to one version."""

    name: str
    version: str
    releases: Mapping[str, Release]
    """Keyed by platform, e.g. ``"linux-amd64"``, ``"darwin-amd64"``."""
    version_args: Sequence[str] = ("--version",)
    version_pattern: str = r"(\d+\.\d+(?:\.\d+)?)"
    """Regex whose first group is the version in the tool's version output."""
    version_env: Mapping[str, str] = field(default_factory=dict)
    """Environment the version report needs (later etcdctl builds: ``ETCDCTL_API=2``)."""
    help: str = ""


@dataclass(frozen=True)
class ToolEnv:
    """What a tool needs from the current context: environment and leading flags."""

    env: Mapping[str, str] = field(default_factory=dict)
    args: Sequence[str] = ()
    """Global flags put before the user's arguments (``--endpoint URL``)."""


@dataclass(frozen=True)
class Setting:
    """A context setting a plugin reads, e.g. ``etcd.endpoint``."""

    name: str
    help: str
    default: str | None = None
    validate: Callable[[str], str] | None = None
    """Returns the normalised value or raises ``ValueError`` with a reason."""
    env: str | None = None
    """An environment variable that, when set, overrides the stored value."""
    secret: bool = False
    choices: Sequence[str] | None = None


@dataclass(frozen=True)
class Check:
    """One ``doctor`` finding."""

    name: str
    status: Literal["ok", "warn", "fail"]
    detail: str = ""
    fix: str = ""
    """The command to run (or step to take) when the status is not ok."""


@dataclass(frozen=True)
class ToolResult:
    status: int
    stdout: str = ""
    stderr: str = ""
    argv: Sequence[str] = ()


class Context(Protocol):
    """The current cluster context: a name and settings."""

    name: str

    def get(self, key: str) -> str | None:
        """The effective value: environment override, stored value, or default."""
        ...

    def source(self, key: str) -> str:
        """Where the value comes from: ``env VAR``, ``context``, ``default`` or ``unset``."""
        ...


class Session(Protocol):
    """What a handler, completer, status or check hook gets to work with."""

    context: Context
    interactive: bool
    """A person is at a terminal (prompts and progress bars are welcome)."""
    dry_run: bool
    """Tools are not run: :meth:`run` prints the argv and returns status 0."""

    def run(
        self,
        tool: str,
        args: Sequence[str],
        *,
        capture: bool = False,
        terminal: bool = False,
        timeout: float | None = None,
        input: str | None = None,
    ) -> ToolResult:
        """Run a pinned tool with the context applied.

        ``capture`` returns stdout/stderr instead of streaming them;
        ``terminal`` hands the terminal to the tool (ssh, ``journal -f``);
        ``timeout`` (seconds) stops a tool that may hang, with status 124.
        Ctrl-C stops the tool and returns status 130.
        """
        ...

    def echo(self, text: str = "") -> None:
        """Write a line to standard output."""
        ...

    def warn(self, text: str) -> None:
        """Write one line to standard error."""
        ...

    def cached(self, key: str, load: Callable[[], T], ttl: float = 10.0) -> T | None:
        """Stale-while-revalidate: the cached value now, refreshed in the background.

        Returns ``None`` while nothing is cached yet (after waiting briefly for a
        first fill). ``load`` runs in a worker thread and may raise; errors keep
        the old value.
        """
        ...

    def invalidate(self, prefix: str = "") -> None:
        """Forget cached values whose key starts with ``prefix`` (after a change)."""
        ...

    def state(self, plugin: str) -> dict[str, object]:
        """A dict that lives as long as the session, for one plugin's own bookkeeping."""
        ...

    def progress(self, text: str) -> AbstractContextManager[None]:
        """``with session.progress("waiting for x"):`` shows one line with the seconds
        elapsed on a terminal while the block runs, erased after; nothing otherwise."""
        ...


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Align ``rows`` under ``headers`` in columns two spaces apart."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


__all__ = [
    "Candidate",
    "Check",
    "Command",
    "CommandError",
    "Completer",
    "Context",
    "Handler",
    "Release",
    "Session",
    "Setting",
    "Tool",
    "ToolEnv",
    "ToolResult",
    "format_table",
    "raw_tool",
    "hookimpl",
]
