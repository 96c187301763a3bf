"""The one place a wrapped tool is run.

Resolve the binary (explicit path in config, the pinned install, then PATH with a
warning when its version differs from the pin), build argv (never a shell
string), apply the context's environment, run it with ``sh``, stream or capture
its output, and return its exit status. Ctrl-C stops the tool, not the shell.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kshell import CommandError, Tool, ToolResult

if TYPE_CHECKING:
    from kshell.session import ShellSession

EX_TIMEOUT = 124
EX_INTERRUPTED = 130
EX_NOT_EXECUTABLE = 126
EX_NOT_FOUND = 127


def _no_answer(name: str, timeout: float) -> str:
    """What a tool stopped for its timeout did wrong, and where to look next."""
    return (
        f"{name}: no answer after {timeout:g}s; stopped it "
        f"(`env {name}` shows where it looked, `doctor` checks it)"
    )


class ToolMissing(CommandError):
    """A pinned tool that is neither installed, configured, nor on PATH (and was not
    installed now): ``status`` and ``doctor`` report it as a finding, with its fix."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(message, EX_NOT_FOUND)
        self.tool = tool


def warm_up() -> None:
    """Import sh (100-150 ms) in a background thread, so that the first tool run at the
    prompt does not wait for it. A run that needs sh meanwhile waits on Python's lock for
    that module and then uses the same import: there is never a second one, nor a deadlock."""

    def load() -> None:
        try:
            import sh  # noqa: F401
        except Exception:  # noqa: BLE001 - the run that needs it reports it
            pass

    threading.Thread(target=load, name="kshell-warm-sh", daemon=True).start()


def probe_version(path: str, tool: Tool) -> str | None:
    """The version the binary reports, or None when it cannot tell."""
    from kshell.install.probe import ToolError, reported_version

    try:
        return reported_version(tool, Path(path))
    except ToolError:
        return None


def path_version(path: str, tool: Tool) -> tuple[str | None, bool]:
    """The version a binary found on PATH reports, and whether kshell sees it for the first
    time. Kept in the cache directory by path, size and mtime: probing costs a process per
    run, and the warning about a version other than the pin is said once per binary."""
    import json

    from kshell import paths

    store = paths.cache_dir() / "path-versions.json"
    try:
        st = os.stat(path)
        stamp = [st.st_mtime_ns, st.st_size]
    except OSError:
        return None, False
    try:
        seen = json.loads(store.read_text())
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, ValueError):
        seen = {}
    entry = seen.get(path)
    if isinstance(entry, dict) and entry.get("stamp") == stamp:
        return entry.get("version"), False
    version = probe_version(path, tool)
    seen[path] = {"stamp": stamp, "version": version}
    try:
        from kshell.atomic import write_atomic

        write_atomic(store, json.dumps(seen))
    except OSError:
        pass
    return version, True


class Runner:
    def __init__(self, session: ShellSession) -> None:
        self.session = session
        self._resolved: dict[str, str] = {}  # tool name -> binary path

    # -- resolution ----------------------------------------------------------

    def resolve(self, name: str) -> str:
        if name in self._resolved:
            return self._resolved[name]
        session = self.session
        tool = session.host.tool(name)
        explicit = session.config.binaries.get(name)
        if explicit:
            if not os.access(explicit, os.X_OK):
                raise CommandError(
                    f"{name}: configured binary {explicit} is missing or not executable; "
                    f"fix it with `bin use {name} PATH` or `bin install {name}`",
                    EX_NOT_EXECUTABLE,
                )
            found = explicit
        else:
            found = self._pinned_or_path(name, tool)
        self._resolved[name] = found
        return found

    def _pinned_or_path(self, name: str, tool: Tool | None) -> str:
        session = self.session
        from kshell.install import ToolError, ensure_tool, installed_path

        if tool is not None:
            path = installed_path(tool)
            if path is not None:
                return str(path)
        import shutil

        on_path = shutil.which(name)
        if on_path:
            if tool is not None:
                version, new = path_version(on_path, tool)
                if new and version != tool.version:
                    session.warn(
                        f"kshell: using {on_path} ({name} {version or 'unknown version'}), "
                        f"not the pinned {tool.version}; `bin install {name}` installs the pin"
                    )
            return on_path
        if tool is None:
            raise CommandError(f"{name}: not found on PATH and no plugin pins it", 127)
        try:
            path = ensure_tool(
                tool,
                # Ask only for a command the user typed: never from a completer's
                # thread, nor from status/doctor hooks.
                interactive=session.interactive
                and not session.hooks_running
                and threading.current_thread() is threading.main_thread(),
                allow_install=session.install_missing,
                mirror=os.environ.get("KSHELL_MIRROR") or session.config.mirror,
            )
        except ToolError as e:
            raise ToolMissing(name, e.message) from e
        return str(path)

    def locate(self, name: str) -> str | None:
        """Where ``name`` would run from, without installing, asking or warning:
        the ``bin use`` path, the pinned install, or PATH; None when it is nowhere."""
        from kshell.install import installed_path

        explicit = self.session.config.binaries.get(name)
        if explicit:
            return explicit if os.access(explicit, os.X_OK) else None
        tool = self.session.host.tools.get(name)
        if tool is not None:
            path = installed_path(tool)
            if path is not None:
                return str(path)
        import shutil

        return shutil.which(name)

    # -- running -------------------------------------------------------------

    def argv(self, name: str, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The exact argv and the environment additions for running ``name``."""
        toolenv = self.session.host.tool_env(name, self.session.context)
        path = self.resolve(name)
        return [path, *toolenv.args, *args], dict(toolenv.env)

    def run(
        self,
        name: str,
        args: Sequence[str],
        *,
        capture: bool | Literal["stderr"] = False,
        terminal: bool = False,
        timeout: float | None = None,
        input: str | None = None,
    ) -> ToolResult:
        session = self.session
        if session.dry_run:
            toolenv = session.host.tool_env(name, session.context)
            shown = [name, *toolenv.args, *args]
            # Masked before quoting: the mask must find the value as the context holds it.
            env = " ".join(f"{k}={_quote(session.mask(v))}" for k, v in sorted(toolenv.env.items()))
            shown = [session.mask(word) for word in shown]
            session.echo(f"+ {env + ' ' if env else ''}{' '.join(map(_quote, shown))}")
            return ToolResult(0, argv=shown)
        argv, extra = self.argv(name, args)
        env = {**os.environ, **extra}
        if terminal and sys.stdin.isatty():
            return self._run_in_terminal(name, argv, env, timeout)
        import sh  # ~90 ms: only when a tool actually runs

        command = sh.Command(argv[0])
        # No `_timeout` and no `wait(timeout=)`: sh polls both every 100 ms, which
        # adds up to 100 ms to every run. A timer stops the tool at the deadline instead.
        kwargs: dict[str, object] = dict(
            _env=env, _ok_code=list(range(256)), _in=input or "",
            _bg=True, _bg_exc=False, _new_session=False,
        )  # fmt: skip
        # Captured output stays in sh's own buffers. Shown output goes straight to the
        # session's file descriptors when it has them: the tool writes there itself, with
        # no Python callback per chunk (a 20 000-key listing spent 250 ms in those).
        if capture is not True:
            kwargs["_out"] = _sink(session.out)
            if capture != "stderr":
                # A tool may echo a secret in an error line: then stderr goes through the
                # mask (sh hands it over line by line); only when the context holds one.
                secrets = session.secrets()
                kwargs["_err"] = _writer(session.err, secrets) if secrets else _sink(session.err)
        if not isinstance(kwargs.get("_out"), int):
            kwargs["_tty_out"] = False  # a pipe, not a pty (sh refuses it for a real fd)
        proc = None

        def result(status: int) -> ToolResult:
            out, err = _captured(proc) if capture and proc is not None else ("", "")
            return ToolResult(status, "" if capture == "stderr" else out, err, argv)

        expired = threading.Event()
        timer = None
        try:
            with _HeldInterrupt() as held:
                proc = command(*argv[1:], **kwargs)
            try:
                # Past TIMEOUT_MAX (or NaN) the timer thread itself would die of an OverflowError.
                if timeout is not None and timeout < threading.TIMEOUT_MAX:
                    timer = threading.Timer(timeout, lambda: (expired.set(), _stop(proc)))
                    timer.daemon = True
                    timer.start()
                if held.hit:
                    raise KeyboardInterrupt
                proc.wait()
            except sh.SignalException:
                if not expired.is_set():
                    raise
            finally:
                if timer is not None:
                    timer.cancel()
            if expired.is_set():
                session.warn(_no_answer(name, timeout))
                return result(EX_TIMEOUT)
            status = proc.exit_code
        except KeyboardInterrupt:
            if proc is not None:
                _stop(proc)
            return result(EX_INTERRUPTED)
        except sh.SignalException as e:
            status = 128 + abs(e.exit_code)
        except sh.CommandNotFound as e:
            raise CommandError(f"{name}: cannot run {argv[0]}: not found", 127) from e
        except OSError as e:
            raise CommandError(f"{name}: cannot run {argv[0]}: {e.strerror}", 126) from e
        if status is not None and status < 0:
            status = 128 + abs(status)
        return result(status or 0)

    def _run_in_terminal(
        self, name: str, argv: list[str], env: dict[str, str], timeout: float | None
    ) -> ToolResult:
        """Give the terminal to the tool (watch, ssh, journal -f) until it exits.

        Not sh's ``_fg``: it refuses ``_timeout`` and, on Ctrl-C, leaves the tool
        unreaped. The tool shares the terminal's process group, so Ctrl-C reaches it
        too; it is then waited for (escalating if it ignores SIGINT).
        """
        import subprocess

        try:
            proc = subprocess.Popen(argv, env=env)
        except FileNotFoundError as e:
            raise CommandError(f"{name}: cannot run {argv[0]}: not found", 127) from e
        except OSError as e:
            raise CommandError(f"{name}: cannot run {argv[0]}: {e.strerror}", 126) from e
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_popen(proc)
            self.session.warn(_no_answer(name, timeout))
            return ToolResult(EX_TIMEOUT, argv=argv)
        except KeyboardInterrupt:
            _stop_popen(proc)
            return ToolResult(EX_INTERRUPTED, argv=argv)
        return ToolResult(128 - status if status < 0 else status, argv=argv)


class _HeldInterrupt:
    """Holds a Ctrl-C that comes while sh starts the tool (the tool may already be running
    and printing) until there is a process to stop; raised there, it would leave the tool
    running without a handle. Only the main thread receives signals."""

    hit = False

    def __enter__(self) -> _HeldInterrupt:
        self.old = None
        if threading.current_thread() is threading.main_thread():
            old = signal.getsignal(signal.SIGINT)
            if old is signal.default_int_handler:  # not when Ctrl-C is ignored or handled
                self.old = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum: int, frame: object) -> None:
        self.hit = True

    def __exit__(self, *exc: object) -> None:
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)


def _escalate(alive: Callable[[], bool], send: Callable[[int], None]) -> None:
    """Stop a tool: SIGINT (it usually has it already after Ctrl-C), then SIGTERM, then
    SIGKILL, about a second apart, until it is gone. A further Ctrl-C goes on escalating."""
    import time

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            if not alive():
                return
            send(sig)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and alive():
                time.sleep(0.02)
        except KeyboardInterrupt:
            continue
        except OSError:
            return


def _stop_popen(proc) -> None:
    """Stop and reap a tool that had the terminal."""
    import subprocess

    _escalate(lambda: proc.poll() is None, proc.send_signal)
    try:
        proc.wait(timeout=1.0)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass


def _captured(proc) -> tuple[str, str]:
    """What a tool run by sh printed, as text (whatever it managed before it stopped)."""

    def text(stream: str) -> str:
        try:
            data = getattr(proc, stream)
        except Exception:  # a killed process may have no final buffer
            return ""
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")

    return text("stdout"), text("stderr")


def _writer(stream, secrets: set[str]) -> Callable[[str], None]:
    """A callback that writes each chunk with ``secrets`` masked."""
    from kshell.masking import mask_secrets

    def write_masked(chunk: str) -> None:
        stream.write(mask_secrets(chunk, secrets))
        stream.flush()

    return write_masked


def _sink(stream) -> object:
    """Where sh sends a tool's shown output: the stream's file descriptor when it has one
    (a terminal, a pipe, a file), else a callback writing each chunk (StringIO in tests).
    What the session wrote before is flushed first, so it comes out before the tool's."""
    stream.flush()
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: no descriptor
        fd = None
    if isinstance(fd, int) and fd >= 0:
        return fd

    def write(chunk: str) -> None:
        stream.write(chunk)
        stream.flush()

    return write


def _stop(proc) -> None:
    """Stop and reap a tool run by sh."""
    _escalate(lambda: proc.process.is_alive()[0], proc.signal)
    try:
        proc.wait()
    except Exception:  # the signal's exit is expected here
        pass


def _quote(word: str) -> str:
    """shlex.quote, except that a masked ``****`` reads as it is (the line is shown, not run)."""
    import shlex

    return word if _PLAIN.fullmatch(word) else shlex.quote(word)


_PLAIN = __import__("re").compile(r"[\w@%+=:,./*-]+", __import__("re").ASCII)
