"""The session every command runs in: host, config, current context, runner, cache."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

from kshell import CommandError, ToolResult
from kshell.cache import SWRCache
from kshell.config import Config, ConfigError, load_config, parse, read_raw, update_config
from kshell.context import ActiveContext
from kshell.host import PluginHost
from kshell.runner import Runner

if TYPE_CHECKING:
    from kshell.etcd_v2 import Etcd

T = TypeVar("T")


class ShellSession:
    """Implements ``kshell.Session`` for handlers; core commands use the rest."""

    def __init__(
        self,
        host: PluginHost,
        config: Config,
        *,
        context_name: str | None = None,
        interactive: bool = False,
        dry_run: bool = False,
        install_missing: bool = False,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
    ) -> None:
        self.host = host
        self.config = config.checked(host.settings)  # bad values: said once, not used
        self.interactive = interactive
        self.dry_run = dry_run
        self.install_missing = install_missing
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.cache = SWRCache()
        self.runner = Runner(self)
        self.exit_requested = False
        self._dry_raw: dict[str, Any] | None = None
        self.hooks_running = False  # status/doctor hooks: never stop to ask the user
        self.assume_yes = False  # `run --yes`: confirmations are answered yes
        self.succeeded: list[tuple[str, str]] = []  # (line, context) typed at the prompt
        self._dry_changed = False  # this command changed the config in a dry run
        self._state: dict[str, dict[str, Any]] = {}
        host.mask = self.mask  # what the host logs about failing hooks is masked too
        from kshell.context import env_problems

        for problem in self.config.problems + env_problems(host.settings):
            self.warn(f"kshell: {problem}")
        self._exit_callbacks: list[Callable[[], None]] = []
        if context_name is None and config.current not in config.contexts:
            self.warn(f"kshell: the current context `{config.current}` is gone; using default")
            context_name = "default"
        self.context = self._context(context_name or config.current)

    # -- contexts ------------------------------------------------------------

    def _context(self, name: str) -> ActiveContext:
        if name not in self.config.contexts:
            known = ", ".join(sorted(self.config.contexts))
            raise CommandError(f"no context named `{name}` (known: {known})", 2)
        return ActiveContext(name, self.config.contexts[name], self.host.settings)

    def use(self, name: str) -> None:
        self.context = self._context(name)
        if not self.config.session_only(name):  # the sandbox's is this run's alone
            self.update_config(lambda raw: raw.__setitem__("current", name))
        self.runner = Runner(self)
        self.invalidate()

    def update_config(self, mutate: Callable[[dict[str, Any]], None]) -> None:
        try:
            if self.dry_run:  # change the session's view only: later lines see it
                import copy

                if self._dry_raw is None:
                    self._dry_raw = copy.deepcopy(read_raw(self.config.path))
                mutate(self._dry_raw)
                self.config = parse(self._dry_raw, self.config.path, keep=self.config)
                self._dry_changed = True  # what the command says next is marked (dry run)
            else:
                self.config = update_config(mutate, self.config.path, keep=self.config)
        except ConfigError as e:
            raise CommandError(e.message, 78) from e
        except OSError as e:
            raise CommandError(f"cannot write {self.config.path}: {e.strerror}", 74) from e
        name = self.context.name
        if name in self.config.contexts:
            self.context = ActiveContext(name, self.config.contexts[name], self.host.settings)
        self.runner = Runner(self)

    # -- kshell.Session ------------------------------------------------------

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
        return self.runner.run(
            tool, list(args), capture=capture, terminal=terminal, timeout=timeout, input=input
        )

    def echo(self, text: str = "") -> None:
        if self._dry_changed and self.dry_run and not text.startswith(("+ ", "(dry run)")):
            text = f"(dry run) {text}"
        self.out.write(self.mask(text) + "\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(self.mask(text) + "\n")
        self.err.flush()

    def secrets(self) -> set[str]:
        """The values of every secret setting: in the current context (its environment
        override included) and stored in any context."""
        from kshell.masking import secret_values

        context = getattr(self, "context", None)  # warnings during __init__ come before it
        if context is None:
            return set()
        return secret_values(self.host.settings, self.config.contexts.values(), context)

    def mask(self, text: str) -> str:
        """``text`` with every secret value replaced by ``****`` (:mod:`kshell.masking`)."""
        secrets = self.secrets()
        if not secrets:
            return text
        from kshell.masking import mask_secrets

        return mask_secrets(text, secrets)

    def dry(self, what: str) -> bool:
        if not self.dry_run:
            return False
        self.out.write(f"+ {what}\n")
        self.out.flush()
        return True

    def confirm(self, question: str, *, yes: bool = False) -> bool:
        if yes or self.assume_yes:
            return True
        if self.dry_run or not self.interactive:
            raise CommandError(f"{question}: no one to ask here; pass --yes to go ahead", 2)
        try:
            answer = input(f"{question} [y/N] ")
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    def begin_command(self) -> None:
        """A command starts: its own dry-run changes decide its ``(dry run)`` marks."""
        self._dry_changed = False

    def cached(self, key: str, load: Callable[[], T], ttl: float = 10.0) -> T | None:
        return self.cache.get(f"{self.context.name}:{key}", load, ttl)

    def invalidate(self, prefix: str = "") -> None:
        self.cache.invalidate(f"{self.context.name}:{prefix}")

    def etcd(self, timeout: float = 5.0) -> Etcd:
        """etcd's keys at the context's ``etcd.endpoint`` (v2 HTTP API); in a dry run,
        writes are printed, not made."""
        import os

        from kshell.etcd_v2 import DEFAULT_ENDPOINT, Etcd

        where = (
            self.context.get("etcd.endpoint") or os.environ.get("ETCDCTL_PEERS") or DEFAULT_ENDPOINT
        )
        return Etcd(where, timeout, echo=self.echo if self.dry_run else None)

    def state(self, plugin: str) -> dict[str, Any]:
        return self._state.setdefault(plugin, {})

    def on_exit(self, callback: Callable[[], None]) -> None:
        self._exit_callbacks.append(callback)

    def close(self) -> None:
        """Run the plugins' exit callbacks (last first), each once; called as kshell exits."""
        while self._exit_callbacks:
            callback = self._exit_callbacks.pop()
            try:
                callback()
            except Exception as e:
                self.warn(f"kshell: on exit: {type(e).__name__}: {e}")

    @contextmanager
    def progress(self, text: str) -> Iterator[None]:
        stream = self.err
        # On a terminal: at the prompt, and for `kshell run` in one too.
        if self.hooks_running or not getattr(stream, "isatty", lambda: False)():
            yield
            return
        import threading
        import time

        done = threading.Event()
        start = time.monotonic()

        def tick() -> None:
            while not done.wait(0.5):
                stream.write(f"\r{text} … {time.monotonic() - start:.0f}s (Ctrl-C stops)\x1b[K")
                stream.flush()

        ticker = threading.Thread(target=tick, daemon=True, name="kshell-progress")
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()
            stream.write("\r\x1b[K")
            stream.flush()

    # -- errors --------------------------------------------------------------

    def log_exception(self, where: str) -> Path:
        """Append the current traceback to the log file (secrets masked); return its path."""
        from kshell.logfile import log_exception

        return log_exception(where, mask=self.mask)


def open_session(
    *,
    context_name: str | None = None,
    interactive: bool = False,
    dry_run: bool = False,
    install_missing: bool = False,
    plugins: str | None = None,
    host: PluginHost | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> ShellSession:
    """Load the plugins and the config; raises ConfigError or CommandError."""
    host = host or PluginHost().load(plugins)
    config = load_config()
    return ShellSession(
        host,
        config,
        context_name=context_name,
        interactive=interactive,
        dry_run=dry_run,
        install_missing=install_missing,
        out=out,
        err=err,
    )
