"""Completion for the prompt: command words, flags, choices, then the argument's completer.

:func:`complete` is pure: it takes the session and the text before the cursor and
reads the same command table and argparse parsers :mod:`kshell.dispatch` uses, so
what completes is what runs. :class:`KshellCompleter` is the thin prompt_toolkit
adapter (the REPL wraps it in a ``ThreadedCompleter``). Only the REPL imports this
module.

Completers given by plugins run on every keystroke; one that raises completes
nothing rather than breaking the prompt.
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from kshell import Candidate

if TYPE_CHECKING:
    from kshell.table import Entry

MAX_CANDIDATES = 1000
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
_REPEATABLE = (
    argparse._AppendAction,
    argparse._AppendConstAction,
    argparse._CountAction,
    argparse._ExtendAction,
)
_SAFE = re.compile(r"^[\w@%+=:,./-]*$")


@dataclass(frozen=True)
class Suggestion:
    """One completion: ``text`` replaces the ``-start_position`` characters before the cursor.

    ``final``: the word is complete (a command, a flag, a key; not a directory ending
    in ``/``), so the prompt adds a space after it and the next word can begin.
    """

    text: str
    start_position: int
    display: str
    meta: str = ""
    final: bool = False


@dataclass
class Line:
    """The text before the cursor, split like :func:`shlex.split` but tolerant."""

    words: list[str] = field(default_factory=list)
    """The complete words before the one being typed."""
    current: str = ""
    """The word being typed, unquoted ("" right after a space)."""
    start: int = 0
    """Where the word being typed begins in the text."""
    quote: str = ""
    """The quote left open in the word being typed ("" when none)."""
    quote_at_start: bool = False
    """The open quote is the word's first character (``"abc``, not ``ab"c``)."""
    comment: bool = False
    """The cursor is inside a ``#`` comment."""


def tokenize(text: str) -> Line:
    """Split ``text`` like :func:`kshell.dispatch.split`; an unclosed quote is fine."""
    line = Line(start=len(text))
    buf: list[str] = []
    in_word = False
    quote = ""
    quote_start = -1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                buf.append(c)
        elif quote == '"':
            if c == '"':
                quote = ""
            elif c == "\\" and i + 1 < n and text[i + 1] in '\\"$`\n':
                i += 1
                if text[i] != "\n":
                    buf.append(text[i])
            elif c == "\\" and i + 1 == n:
                pass  # a trailing backslash: the next key decides
            else:
                buf.append(c)
        elif c.isspace():
            if in_word:
                line.words.append("".join(buf))
                buf = []
                in_word = False
        elif c == "#" and not in_word:  # POSIX: `#` inside a word is just a character
            line.comment = True
            return line
        else:
            if not in_word:
                in_word = True
                line.start = i
            if c == "\\":
                if i + 1 < n:
                    i += 1
                    if text[i] != "\n":
                        buf.append(text[i])
            elif c in "'\"":
                quote = c
                quote_start = i
            else:
                buf.append(c)
        i += 1
    if in_word:
        line.current = "".join(buf)
        line.quote = quote
        line.quote_at_start = bool(quote) and quote_start == line.start
    else:
        line.start = n
    return line


def _one_line(text: str | None, limit: int = 80) -> str:
    if not text or text == argparse.SUPPRESS:
        return ""
    first = " ".join(text.split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _action_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = action.help
    if not text or text == argparse.SUPPRESS:
        return ""
    try:
        params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
        params["prog"] = parser.prog
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        text = text % params
    except (KeyError, TypeError, ValueError):
        pass
    return _one_line(text)


def _nargs_range(action: argparse.Action) -> tuple[float, float]:
    """How many values ``action`` takes: (at least, at most)."""
    nargs = action.nargs
    if nargs is None:
        return (0, 0) if _takes_no_value(action) else (1, 1)
    if nargs == argparse.OPTIONAL:
        return 0, 1
    if nargs == argparse.ZERO_OR_MORE:
        return 0, math.inf
    if nargs in (argparse.ONE_OR_MORE, argparse.PARSER):
        return 1, math.inf
    if nargs == argparse.REMAINDER:
        return 0, math.inf
    if isinstance(nargs, int):
        return nargs, nargs
    return 1, 1


def _takes_no_value(action: argparse.Action) -> bool:
    return action.nargs == 0 or isinstance(
        action,
        (
            argparse._StoreConstAction,
            argparse._StoreTrueAction,
            argparse._StoreFalseAction,
            argparse._AppendConstAction,
            argparse._CountAction,
            argparse._HelpAction,
            argparse._VersionAction,
        ),
    )


def _looks_like_option(word: str) -> bool:
    return word.startswith("-") and word != "-" and not _NEGATIVE_NUMBER.match(word)


@dataclass
class _Walk:
    """Where the cursor is in a command's arguments, after the complete words."""

    used: set[int] = field(default_factory=set)
    """ids of option actions already given."""
    pending: argparse.Action | None = None
    """An option still expecting values."""
    pending_min: float = 0
    pending_max: float = 0
    positional: argparse.Action | None = None
    """The positional argument the next plain word goes to (None: no more)."""
    only_positional: bool = False


def _walk(parser: argparse.ArgumentParser, words: list[str]) -> _Walk:
    options: dict[str, argparse.Action] = {}
    positionals: list[argparse.Action] = []
    for action in parser._actions:
        if action.option_strings:
            for s in action.option_strings:
                options[s] = action
        else:
            positionals.append(action)
    state = _Walk()
    index, filled = 0, 0

    def expect(action: argparse.Action) -> None:
        low, high = _nargs_range(action)
        if high > 0:
            state.pending, state.pending_min, state.pending_max = action, low, high

    for word in words:
        if state.pending is not None and not state.only_positional:
            if state.pending_min > 0 or not _looks_like_option(word):
                state.pending_min -= 1
                state.pending_max -= 1
                if state.pending_max <= 0:
                    state.pending = None
                continue
            state.pending = None
        if not state.only_positional:
            if word == "--":
                state.only_positional = True
                continue
            if _looks_like_option(word):
                if word.startswith("--"):
                    name, sep, _ = word.partition("=")
                    action = options.get(name)
                    if action is not None:
                        state.used.add(id(action))
                        if not sep:
                            expect(action)
                    continue
                action = options.get(word)
                if action is not None:
                    state.used.add(id(action))
                    expect(action)
                    continue
                first = options.get(word[:2])
                if first is not None and not _takes_no_value(first):
                    state.used.add(id(first))  # -n5: the value is attached
                    continue
                for ch in word[1:]:  # -rv: a cluster of flags
                    flag = options.get(f"-{ch}")
                    if flag is None:
                        break
                    state.used.add(id(flag))
                    if not _takes_no_value(flag):
                        break  # the rest of the word is its value
                continue
        # a positional word
        while index < len(positionals):
            action = positionals[index]
            _, high = _nargs_range(action)
            if action.nargs == argparse.REMAINDER:
                state.only_positional = True
            if filled < high:
                filled += 1
                if filled >= high:
                    index, filled = index + 1, 0
                break
            index, filled = index + 1, 0
    state.positional = positionals[index] if index < len(positionals) else None
    return state


class _Collector:
    """Candidates for one word, de-duplicated, in the order found."""

    def __init__(self, line: Line, cursor: int) -> None:
        self.line = line
        self.cursor = cursor
        self.seen: set[str] = set()
        self.out: list[Suggestion] = []

    @property
    def full(self) -> bool:
        return len(self.out) >= MAX_CANDIDATES

    def add(self, value: str, meta: str = "", *, final: bool = True, prefix: str = "") -> None:
        """Offer ``prefix + value`` for the current word (``final``: a complete word)."""
        word = prefix + value
        if word in self.seen or len(self.out) >= MAX_CANDIDATES:
            return
        if not word.startswith(self.line.current):
            return
        self.seen.add(word)
        final = final and not word.endswith(("/", "="))
        self.out.append(
            Suggestion(
                _insertion(word, self.line, final),
                self.line.start - self.cursor,
                word,
                _one_line(meta),
                final,
            )
        )


def _insertion(word: str, line: Line, final: bool) -> str:
    """The text that replaces the current word: quoted like the user began it.

    A final word gets its closing quote; a directory (``'/a b/``) stays open.
    """
    q = line.quote
    if q and line.quote_at_start:
        if q == '"':
            body = re.sub(r'([\\"$`])', r"\\\1", word)
            return f'"{body}"' if final else f'"{body}'
        if "'" not in word:
            return f"'{word}'" if final else f"'{word}"
    if _SAFE.match(word):
        return word
    return shlex.quote(word)


def _values(
    session: Any,
    entry: Entry,
    parser: argparse.ArgumentParser,
    action: argparse.Action,
    into: _Collector,
    prefix_text: str,
    option_prefix: str = "",
) -> None:
    """Offer ``action``'s choices and its completer's candidates."""
    meta = _action_help(parser, action)
    if action.choices is not None:
        for choice in action.choices:
            into.add(str(choice), meta, prefix=option_prefix)
    completer = entry.command.completers.get(action.dest)
    if completer is None:
        return
    try:
        found = completer(session, prefix_text)
        for item in _bounded(found):
            if into.full:
                break
            if isinstance(item, Candidate):
                into.add(item.text, item.meta, prefix=option_prefix)
            elif isinstance(item, str):
                into.add(item, meta, prefix=option_prefix)
    except Exception as e:  # a completer never breaks typing; `plugins` and the log tell
        host = getattr(session, "host", None)
        if host is not None and hasattr(host, "failed"):
            host.failed(entry.owner, f"completer of `{entry.command.name} {action.dest}`", e)
        return


def _bounded(items: Iterable[Any] | None) -> Iterator[Any]:
    if items is None:
        return
    for n, item in enumerate(items):
        if n >= MAX_CANDIDATES * 4:
            return
        yield item


def _flags(
    parser: argparse.ArgumentParser, state: _Walk, into: _Collector, *, all_forms: bool
) -> None:
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if id(action) in state.used and not isinstance(action, _REPEATABLE):
            continue
        if not all_forms and isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        final = True
        meta = _action_help(parser, action)
        strings = action.option_strings
        if not all_forms:
            longs = [s for s in strings if s.startswith("--")]
            strings = longs[:1] or strings[:1]
        for s in strings:
            into.add(s, meta, final=final)


def complete(session: Any, text: str) -> list[Suggestion]:
    """The completions for ``text`` (what is before the cursor) in ``session``."""
    line = tokenize(text)
    if line.comment:
        return []
    into = _Collector(line, len(text))
    table = session.host.commands
    words = line.words
    key = tuple(words)
    if not words or table.is_group(key):
        for word, help_text in sorted(table.children(key).items()):
            into.add(word, help_text)
    found = table.match(words) if words else None
    if found is None:
        return into.out
    entry, used = found
    if entry.command.passthrough:
        return into.out
    parser = table.parser(entry)
    _arguments(session, entry, parser, words[used:], line, into)
    return into.out


def _arguments(
    session: Any,
    entry: Entry,
    parser: argparse.ArgumentParser,
    rest: list[str],
    line: Line,
    into: _Collector,
) -> None:
    state = _walk(parser, rest)
    current = line.current
    if not state.only_positional and current.startswith("--") and "=" in current:
        name, _, value = current.partition("=")
        for action in parser._actions:
            if name in action.option_strings and not _takes_no_value(action):
                _values(session, entry, parser, action, into, value, option_prefix=f"{name}=")
        return
    pending = state.pending
    if pending is not None and (state.pending_min > 0 or not _looks_like_option(current)):
        _values(session, entry, parser, pending, into, current)
        if state.pending_min > 0:
            return
    if not state.only_positional and current.startswith("-"):
        _flags(parser, state, into, all_forms=True)
        return
    target = state.positional
    if target is not None:
        _values(session, entry, parser, target, into, current)
    elif not current and not state.only_positional and pending is None:
        _flags(parser, state, into, all_forms=False)


class KshellCompleter(Completer):
    """prompt_toolkit's view of :func:`complete`: a final word is inserted with a space."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        try:
            found = complete(self.session, document.text_before_cursor)
        except Exception:  # a broken parser or table must not break the prompt
            return
        for s in found:
            yield Completion(
                s.text + " " if s.final else s.text,
                start_position=s.start_position,
                display=s.display,
                display_meta=s.meta,
            )
