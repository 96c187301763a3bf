"""kshell's plugin API: the only module a plugin imports.

A plugin is a module (or object) with functions marked ``@hookimpl``, registered under
the entry-point group ``kshell``; the entry point's name is the plugin's name::

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
``tests/thirdparty/kshell-hello`` implements every hook.

Hooks (implement any; each takes exactly these keyword arguments):

``kshell_commands(register: Callable[[Command], None]) -> None``
    Called once at load. ``register`` each :class:`Command`. A name another plugin
    already has is reported (``plugins``) and skipped.
``kshell_settings(register: Callable[[Setting], None]) -> None``
    Called once at load. ``register`` each :class:`Setting` the plugin reads. Names are
    ``PLUGIN.NAME`` (the entry point's name, lowercase: ``hello.greeting``); a name
    taken by another plugin or not so named is reported and skipped.
``kshell_tools(register: Callable[[Tool], None]) -> None``
    Called once at load. ``register`` each pinned :class:`Tool` the plugin wraps.
``kshell_tool_env(tool: str, context: Context) -> ToolEnv | None``
    Called before every run of any tool (and by ``env`` and dry runs): the environment
    and leading flags ``tool`` needs from ``context``; None for a tool that is not yours.
    The answers of all plugins are merged. If it raises, the command stops with one line
    naming the plugin and the tool is not run.
``kshell_status(session: Session) -> Iterable[str] | None``
    Lines for ``status`` (printed as ``PLUGIN: line``). Keep it fast: short timeouts.
``kshell_checks(session: Session) -> Iterable[Check] | None``
    Findings for ``doctor``; each non-ok :class:`Check` names the command that fixes it.
``kshell_context_sources(session: Session) -> Iterable[tuple[str, str, str]] | None``
    Rows ``(what, value, from)`` that ``context`` shows below the settings, for values a
    plugin finds itself (a credentials file, variables). Mask secrets; read no network.

In ``kshell_status`` and ``kshell_checks`` a :class:`CommandError` is shown as the
plugin's line (a pinned tool that is not installed as ``bin install NAME``); any other
exception, in any hook or completer, is written with its traceback to the log and
counted in ``plugins`` (a load-time hook failing marks the plugin failed). Hooks and
completers may run in worker threads; nothing is asked of the user while they run.

Talking to etcd: ``session.etcd(timeout=5.0)`` is an :class:`Etcd` (``kshell/etcd_v2.py``)
over the v2 HTTP API at the context's ``etcd.endpoint``: ``get(key) -> str | None``,
``node(key, recursive=False) -> EtcdNode | None``, ``ls(key) -> list[EtcdNode]``,
``leaves(key) -> list[EtcdNode]`` (values at any depth, with ``ttl``), ``set(key, value,
ttl=None)``, ``mk(key, value, ttl=None)`` (:class:`KeyExists`), ``swap(key, old, value)``
(:class:`CompareFailed`), ``delete(key, recursive=False) -> bool``, ``version() -> str``.
Failures are one-line :class:`EtcdError` (a ``CommandError``): :class:`EtcdUnreachable`,
:class:`NotEtcd`. ``probe_http(url, path, identify, timeout=2.0) -> Probe`` is the one
rule for checking any endpoint: an answer ``identify(status, body)`` does not recognise
is ``wrong`` (a web server, a proxy's 404 page), never healthy. ``http_reason(exc)`` is
a failed request's short, stable cause (``connection refused``), for one-line errors.
``http_request(method, url, *, timeout, **kwargs)`` is ``requests.request`` that never
sends a loopback URL through a proxy (like the Go clients of the pinned tools); it raises
``requests.RequestException``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

import pluggy

if TYPE_CHECKING:
    from kshell.etcd_v2 import (
        CompareFailed,
        Etcd,
        EtcdError,
        EtcdNode,
        EtcdUnreachable,
        KeyExists,
        NotEtcd,
        Probe,
        probe_http,
    )
    from kshell.etcd_v2 import reason as http_reason

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("kshell")
"""Marks a plugin function as the implementation of a kshell hook."""

T = TypeVar("T")


class CommandError(Exception):
    """A failure reported to the user as one line, with an exit status. An empty message
    prints nothing (the line was said already, e.g. by the runner): only the status is left."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class DryRunStop(CommandError):
    """Ends a handler quietly in a dry run, after :meth:`Session.dry` printed what it
    would have asked (a network read deep inside a client): status 0, no message."""

    def __init__(self) -> None:
        super().__init__("", 0)


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
    """True when the command changes nothing (cluster, config, files): the session's
    cached cluster data is kept after it. It does not make the command run for real in
    a dry run: there every handler runs, its tool calls are printed by
    :meth:`Session.run` and its own network reads by :meth:`Session.dry`."""
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
    env_prefixes: Sequence[str] = ()
    """Prefixes of the environment variables the tool reads itself (``KUBERNETES_``); ``env``
    lists the inherited ones. Empty: the tool's name in capitals and ``_`` (``FLEETCTL_``)."""


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
    """Nothing is contacted or changed (``kshell run --dry-run``): :meth:`run` prints
    the argv and returns status 0; a handler that reads the cluster itself (HTTP) asks
    :meth:`dry` first; config changes stay in memory for the later lines."""

    def run(
        self,
        tool: str,
        args: Sequence[str],
        *,
        capture: bool | Literal["stderr"] = False,
        terminal: bool = False,
        timeout: float | None = None,
        input: str | None = None,
    ) -> ToolResult:
        """Run a pinned tool with the context applied.

        ``capture`` returns stdout/stderr instead of streaming them; ``"stderr"``
        streams stdout (long listings go straight to the terminal) and returns stderr;
        ``terminal`` hands the terminal to the tool (ssh, ``journal -f``);
        ``timeout`` (seconds) stops a tool that may hang, with status 124.
        Ctrl-C stops the tool and returns status 130.
        """
        ...

    def echo(self, text: str = "") -> None:
        """Write a line to standard output."""
        ...

    def dry(self, what: str) -> bool:
        """Call before contacting or changing anything other than through :meth:`run`
        (an HTTP read, a socket, writing a file). In a dry run it prints ``+ what`` (say
        exactly what would be asked: ``GET http://10.1.1.245:4001/v2/keys/?recursive=true``)
        and returns True: skip the request and return. Otherwise it returns False and
        prints nothing::

            if session.dry(f"GET {url}/version"):
                return 0
        """
        ...

    def confirm(self, question: str, *, yes: bool = False) -> bool:
        """Ask ``question`` (y/N) on the terminal; True to go ahead. ``yes`` (the
        command's own ``--yes``) or ``kshell run --yes`` answers it. Without a person at
        a terminal, or in a dry run, an unanswered question raises :class:`CommandError`
        saying to pass ``--yes``."""
        ...

    def warn(self, text: str) -> None:
        """Write one line to standard error."""
        ...

    def cached(self, key: str, load: Callable[[], T], ttl: float = 10.0) -> T | None:
        """Stale-while-revalidate: the cached value now, refreshed in the background.

        Keys are per context: the core prefixes ``key`` with the context's name, so
        ``"units"`` in ``prod`` never answers for ``staging``. Returns ``None`` while
        nothing is cached yet (after waiting briefly for a first fill). ``load`` runs
        in a worker thread and may raise; errors keep the old value.
        """
        ...

    def invalidate(self, prefix: str = "") -> None:
        """Mark the current context's cached values whose key starts with ``prefix``
        stale: they are still served, and the next lookup refreshes them in the
        background. Every command that is not ``read_only`` does this when it ends."""
        ...

    def etcd(self, timeout: float = 5.0) -> Etcd:
        """etcd's keys at the context's ``etcd.endpoint`` (``$ETCDCTL_PEERS``, else
        ``http://127.0.0.1:4001``), over the v2 HTTP API. In a dry run, writes are
        printed as ``+ etcd set KEY VALUE`` and not made; reads raise."""
        ...

    def mask(self, text: str) -> str:
        """``text`` with the value of every secret setting replaced by ``****``
        (``echo`` and ``warn`` already do this)."""
        ...

    def state(self, plugin: str) -> dict[str, object]:
        """A dict that lives as long as the session, for one plugin's own bookkeeping."""
        ...

    def progress(self, text: str) -> AbstractContextManager[None]:
        """``with session.progress("waiting for x"):`` shows one line with the seconds
        elapsed on a terminal while the block runs, erased after; nothing otherwise."""
        ...

    def on_exit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once when kshell exits (prompt, ``-c``, piped lines, recipe),
        the last registered first: to end what the plugin started for this session. An
        error in it is reported as one line and the exit goes on."""
        ...


def state_dir(plugin: str) -> Path:
    """A directory for ``plugin``'s own files that outlive one session (e.g. records of
    the processes it started): ``plugins/<plugin>`` under kshell's user state directory
    (``$KSHELL_HOME/state`` when set). Created on first call."""
    from kshell import paths

    if not plugin or plugin in (".", "..") or "/" in plugin or "\\" in plugin:
        raise ValueError(f"not a plugin name: {plugin!r}")
    path = paths.state_dir() / "plugins" / plugin
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write a file a crash cannot leave half-written: a temp file beside ``path``, fsync,
    rename. Use it for every file a command writes for the user (units, cloud-configs)."""
    from kshell.atomic import write_atomic as write

    write(path, data, mode)


def lazy(module: str, name: str, *args: object) -> Callable[..., object]:
    """A stand-in for ``module.name`` that imports ``module`` on its first call, not at
    load: a handler, completer or validator whose code (and its heavy imports) stays out
    of start-up. With ``args``, ``module.name(*args)`` makes the callable (a factory)::

        Command("kube tunnel open", "…", lazy(f"{__package__}.tunnel", "open_tunnel"))
    """

    def call(*a: object, **kw: object) -> object:
        import importlib

        target = getattr(importlib.import_module(module), name)
        return (target(*args) if args else target)(*a, **kw)

    call.__qualname__ = call.__name__ = f"lazy:{module}.{name}"
    return call


def is_loopback(url: str) -> bool:
    """True when ``url``'s host is this machine (127.x, ::1, localhost): an endpoint that,
    written into a unit or a cloud-config, would point each node at itself."""
    from ipaddress import ip_address
    from urllib.parse import urlsplit

    host = urlsplit(url if "://" in url else f"//{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def complete_files(prefix: str, suffixes: Sequence[str], meta: str = "file") -> list[Candidate]:
    """A completer's answer for a file argument: directories, and files ending in one of
    ``suffixes`` (``(".json", ".yaml")``), under what was typed; local, never slow."""
    from kshell.filecomplete import complete_files as files

    return files(prefix, suffixes, meta)


def parse_tabwriter_table(text: str) -> list[dict[str, str]]:
    """The rows of a table a Go tool wrote with ``text/tabwriter`` (fleetctl's lists, with
    their header line), as dicts keyed by the lower-cased headers; an empty cell is ``""``.
    Cells are cut at the header's column starts, so empty cells keep later ones in place."""
    from kshell.tabwriter import parse_table

    return parse_table(text)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Align ``rows`` under ``headers`` in columns two spaces apart."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


# The etcd client loads on first use: most commands never need it.
_ETCD = {
    "CompareFailed", "Etcd", "EtcdError", "EtcdNode", "EtcdUnreachable", "KeyExists",
    "NotEtcd", "Probe", "probe_http", "http_reason", "http_request",
}  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _ETCD:
        from kshell import etcd_v2

        names = {"http_reason": "reason", "http_request": "request"}
        return getattr(etcd_v2, names.get(name, name))
    raise AttributeError(f"module 'kshell' has no attribute {name!r}")


__all__ = [
    "Candidate",
    "Check",
    "Command",
    "CommandError",
    "DryRunStop",
    "CompareFailed",
    "Completer",
    "Context",
    "Etcd",
    "EtcdError",
    "EtcdNode",
    "EtcdUnreachable",
    "Handler",
    "KeyExists",
    "NotEtcd",
    "Probe",
    "Release",
    "Session",
    "Setting",
    "Tool",
    "ToolEnv",
    "ToolResult",
    "complete_files",
    "format_table",
    "parse_tabwriter_table",
    "http_reason",
    "is_loopback",
    "http_request",
    "lazy",
    "write_atomic",
    "probe_http",
    "raw_tool",
    "state_dir",
    "hookimpl",
]
