"""The interactive shell: a prompt_toolkit prompt around :func:`kshell.dispatch.execute`.

Completion while typing (from the command table and parsers), fish-style
suggestions and Ctrl-R search over a persistent history, the context in the
prompt and its endpoints in the bottom toolbar. Ctrl-C clears the line (or stops
the running command), Ctrl-D or ``exit`` leaves with status 0.

prompt_toolkit is imported here only: ``kshell -c`` and recipes never load it.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kshell.session import ShellSession

# Settings worth seeing at a glance, in this order, when a plugin provides them.
TOOLBAR_SETTINGS = ("etcd.endpoint", "fleet.endpoint", "fleet.tunnel", "kube.master")


def prompt_text(session: ShellSession) -> str:
    return f"kshell:{session.context.name}> "


def toolbar_parts(session: ShellSession, last_status: int = 0) -> list[tuple[str, str]]:
    """The bottom toolbar as (style, text) fragments: context, endpoints, last failure."""
    parts: list[tuple[str, str]] = [
        ("class:toolbar.label", " context "),
        ("class:toolbar.context", session.context.name),
    ]
    settings = session.host.settings
    for key in TOOLBAR_SETTINGS:
        setting = settings.get(key)
        if setting is None:
            continue
        try:
            value = session.context.get(key)
        except Exception:
            continue
        if not value:
            continue
        if setting.secret:
            value = "****"
        value = session.mask(value)  # another setting's value may carry a secret
        parts += [("class:toolbar.label", f"  {key} "), ("class:toolbar.value", value)]
    if last_status:
        parts += [("class:toolbar.status", f"  status {last_status} ")]
    return parts


def _make_history(session: ShellSession):
    """A prompt_toolkit History over :mod:`kshell.history` (redacting, crash-safe).

    The file is read in prompt_toolkit's loader thread, so a long history never
    delays the first prompt.
    """
    from prompt_toolkit.history import History, ThreadedHistory

    def redacted(line: str) -> str:
        from kshell import history

        line = history.redact(line, history.secret_settings(session.host.settings.items()))
        return session.mask(line)  # a known secret typed anywhere else on the line

    class KshellHistory(History):
        warned = False

        def load_history_strings(self):
            from kshell import history

            try:
                return reversed(history.load_entries())
            except OSError:
                return []

        def store_string(self, string: str) -> None:
            from kshell import history

            try:
                history.append_entry(redacted(string))
            except OSError as e:
                if not self.warned:
                    self.warned = True
                    session.warn(f"kshell: cannot write the history file: {e}")

    class RedactingHistory(ThreadedHistory):
        pending: str | None = None

        def append_string(self, string: str) -> None:
            # Held until the line has run (``settle``): a rejected `context set` may hold a
            # secret where no redaction can tell (a mistyped key, `KEY=VALUE`).
            self.pending = string

        def settle(self, status: int) -> None:
            from kshell.history import may_carry_secret

            line, self.pending = self.pending, None
            if line is None or (status != 0 and may_carry_secret(line, session.host.settings)):
                return
            # What Up, Ctrl-R and the suggestions offer is what the file holds: no secrets.
            super().append_string(redacted(line))

    return RedactingHistory(KshellHistory())


class AbovePrompt:
    """A stream that writes through, but while the prompt is on screen (a thread's note, a
    warning from a completer) puts whole lines above it, and the prompt is redrawn with
    what was being typed: prompt_toolkit's ``run_in_terminal``."""

    def __init__(self, stream: Any, app: Any) -> None:
        self._stream = stream
        self._app = app
        self._lock = threading.Lock()
        self._pending = ""

    def write(self, text: str) -> int:
        app = self._app
        loop = getattr(app, "loop", None)
        if app.is_running and loop is not None:
            with self._lock:
                self._pending += text
                ready = "\n" in text
            if ready:
                try:
                    loop.call_soon_threadsafe(self._above)
                except RuntimeError:  # the prompt just closed: settle() writes it
                    pass
            return len(text)
        self.settle()
        return self._stream.write(text)

    def _above(self) -> None:
        from prompt_toolkit.application import run_in_terminal

        run_in_terminal(lambda: self._write_pending(whole_lines=True))

    def _write_pending(self, whole_lines: bool) -> None:
        with self._lock:
            if whole_lines:
                cut = self._pending.rfind("\n") + 1
                text, self._pending = self._pending[:cut], self._pending[cut:]
            else:
                text, self._pending = self._pending, ""
        if text:
            self._stream.write(text)
            self._stream.flush()

    def settle(self) -> None:
        """Write what is still held (the prompt closed before it could go above it)."""
        if self._pending:
            self._write_pending(whole_lines=False)

    def flush(self) -> None:
        if not self._app.is_running:
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _output_above_prompt(session: ShellSession, app: Any) -> tuple[list[AbovePrompt], Any]:
    """Route the session's and sys's output streams through :class:`AbovePrompt`;
    returns the wrappers and a function that puts the streams back."""
    wrapped: dict[int, AbovePrompt] = {}

    def wrap(stream: Any) -> AbovePrompt:
        if id(stream) not in wrapped:
            wrapped[id(stream)] = AbovePrompt(stream, app)
        return wrapped[id(stream)]

    saved = (session.out, session.err, sys.stdout, sys.stderr)
    session.out, session.err = wrap(session.out), wrap(session.err)
    sys.stdout, sys.stderr = wrap(sys.stdout), wrap(sys.stderr)

    def restore() -> None:
        for stream in wrapped.values():
            stream.settle()
        session.out, session.err, sys.stdout, sys.stderr = saved

    return list(wrapped.values()), restore


def _make_completer(session: ShellSession):
    """The completer, run in a thread; :mod:`kshell.completion` loads on first use."""
    from prompt_toolkit.completion import Completer, ThreadedCompleter

    class LazyCompleter(Completer):
        inner = None

        def get_completions(self, document, complete_event):
            if self.inner is None:
                from kshell.completion import KshellCompleter

                self.inner = KshellCompleter(session)
            yield from self.inner.get_completions(document, complete_event)

    return ThreadedCompleter(LazyCompleter())


def _key_bindings():
    """Tab with one candidate takes it, even when the candidates are still being computed
    (completion runs in a thread while typing); a directory (``/coreos.com/``) completes on."""
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()
    waiting: set[int] = set()  # buffers whose Tab came before their candidates

    def take_single(buffer) -> bool:
        state = buffer.complete_state
        if not (state and len(state.completions) == 1):
            return False
        buffer.apply_completion(state.completions[0])
        if buffer.document.text_before_cursor.endswith("/"):
            buffer.start_completion(select_first=False)
        return True

    def arrived(buffer) -> None:
        if id(buffer) in waiting and buffer.complete_state and buffer.complete_state.completions:
            waiting.discard(id(buffer))
            take_single(buffer)

    @kb.add("tab")
    def _(event) -> None:
        buffer = event.current_buffer
        if not getattr(buffer, "_kshell_tab_hook", False):
            buffer.on_completions_changed += arrived
            buffer._kshell_tab_hook = True
        state = buffer.complete_state
        if take_single(buffer):
            return
        if state and state.completions:
            buffer.complete_next()
        else:  # none yet, or still being computed: take a single one when it arrives
            waiting.add(id(buffer))
            buffer.start_completion(select_first=False)

    return kb


def _started() -> None:
    """Once the prompt is up: cyclic GC on again (kshell.cli turns it off for the start-up),
    and sh imported in the background for the first tool run."""
    import gc

    from kshell.runner import warm_up

    gc.enable()
    warm_up()


def _after_first_render(app, action) -> None:
    """Run ``action`` once, right after the first prompt is on the screen."""

    done = False

    def once(_app) -> None:
        nonlocal done
        if not done:  # stays registered: removing it while the event fires skips the next
            done = True
            action()

    app.after_render.add_handler(once)


def repl(session: ShellSession) -> int:
    """Read lines and run them until Ctrl-D or ``exit``; returns the shell's exit status."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.styles import Style

    session.interactive = True
    last = {"status": 0}
    style = Style.from_dict(
        {
            "prompt": "bold",
            "toolbar.context": "bold",
            "toolbar.status": "fg:ansired bold",
        }
    )
    history = _make_history(session)
    prompt = PromptSession(
        history=history,
        completer=_make_completer(session),
        complete_while_typing=True,
        auto_suggest=AutoSuggestFromHistory(),
        bottom_toolbar=lambda: toolbar_parts(session, last["status"]),
        style=style,
        enable_history_search=False,  # Ctrl-R searches; Up recalls
        key_bindings=_key_bindings(),
    )
    _after_first_render(prompt.app, _started)
    streams, restore = _output_above_prompt(session, prompt.app)
    try:
        while not session.exit_requested:
            try:
                line = prompt.prompt(lambda: [("class:prompt", prompt_text(session))])
            except KeyboardInterrupt:
                continue  # Ctrl-C on the prompt: a fresh line
            except EOFError:
                break  # Ctrl-D
            finally:
                for stream in streams:
                    stream.settle()
            if not line.strip():
                continue
            from kshell.dispatch import EX_INTERRUPTED, execute

            status = EX_INTERRUPTED
            try:
                status = execute(session, line)
            except KeyboardInterrupt:
                session.warn("interrupted")
            finally:
                history.settle(status)
            if status == 0:  # for `history save`
                session.succeeded.append((line, session.context.name))
            last["status"] = status
    finally:
        restore()
    return 0
