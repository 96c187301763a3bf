"""The session every command runs in: host, config, current context, runner, cache."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from kshell import CommandError, ToolResult, paths
from kshell.cache import SWRCache
from kshell.config import Config, ConfigError, load_config, parse, read_raw, update_config
from kshell.context import ActiveContext
from kshell.host import PluginHost
from kshell.runner import Runner

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
        self.config = config
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
        self._state: dict[str, dict[str, Any]] = {}
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
                self.config = parse(self._dry_raw, self.config.path)
            else:
                self.config = update_config(mutate, self.config.path)
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
        self.out.write(text + "\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def cached(self, key: str, load: Callable[[], T], ttl: float = 10.0) -> T | None:
        return self.cache.get(f"{self.context.name}:{key}", load, ttl)

    def invalidate(self, prefix: str = "") -> None:
        self.cache.invalidate(f"{self.context.name}:{prefix}")

    def state(self, plugin: str) -> dict[str, Any]:
        return self._state.setdefault(plugin, {})

    @contextmanager
    def progress(self, text: str) -> Iterator[None]:
        stream = self.err
        if not (self.interactive and getattr(stream, "isatty", lambda: False)()):
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
        """Append the current traceback to the log file; return its path."""
        import traceback

        log = paths.state_dir() / "kshell.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"--- {where}\n{traceback.format_exc()}\n")
        except OSError:
            pass
        return log


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
