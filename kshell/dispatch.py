"""One line grammar for the prompt, ``kshell -c``, piped stdin and recipes.

A line is split like a POSIX shell line, matched against the command table
(longest name first) and parsed by the command's own parser. Every outcome is
an exit status; nothing raises to the caller.
"""

from __future__ import annotations

import argparse
import re
import shlex
from typing import TYPE_CHECKING

from kshell import Command, CommandError
from kshell.table import CommandTable, HelpShown, UsageError

if TYPE_CHECKING:
    from kshell.session import ShellSession

EX_USAGE = 2
EX_NOTFOUND = 127
EX_SOFTWARE = 70
EX_INTERRUPTED = 130


_BLANKS = " \t\r\n"  # shlex's whitespace: what separates words


def strip_comments(line: str) -> str:
    """``line`` without its comments: an unquoted ``#`` that starts a word, to the end of
    its line. As in a POSIX shell, ``abc#def`` is one word and ``'#'``, ``"#"``, ``\\#``
    are a literal ``#`` (shlex's own ``comments=True`` cuts ``abc#def`` to ``abc``).
    """
    out: list[str] = []
    quote = ""
    word_start = True
    i, n, kept = 0, len(line), 0
    while i < n:
        c = line[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif quote == '"':
            if c == "\\":
                i += 1  # an escaped character never closes the quote
            elif c == '"':
                quote = ""
        elif c == "\\":
            i += 1
            word_start = False
        elif c in "'\"":
            quote = c
            word_start = False
        elif c == "#" and word_start:
            out.append(line[kept:i])
            end = line.find("\n", i)
            if end < 0:
                return "".join(out)
            i = kept = end  # the newline itself still separates words
            continue
        else:
            word_start = c in _BLANKS
        i += 1
    out.append(line[kept:])
    return "".join(out)


def split(line: str) -> list[str]:
    """The words of ``line``, split like a POSIX shell line (quotes, ``\\``, ``#`` comments).

    The one splitter for the prompt, ``kshell -c``, stdin lines and recipes. Raises
    ValueError for an unclosed quote or a trailing backslash.
    """
    return shlex.split(strip_comments(line), comments=False)


# Line breaks and other control characters, and lone surrogates (bytes that were not UTF-8,
# as Python decodes them from argv): what must not reach a terminal raw inside a message.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` as one printable line: line breaks, control characters and lone surrogates
    written as escapes (``\\n``, ``\\x1b``, ``\\udcff``), as a user's words may hold them."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text.strip())


def not_text(words: list[str]) -> str | None:
    """Why ``words`` cannot be handed to a program, or None: a NUL byte or a lone surrogate."""
    for word in words:
        if "\x00" in word:
            return "a NUL byte (\\x00), which no program can receive in an argument"
        m = re.search("[\ud800-\udfff]", word)
        if m:
            return (
                f"`{ascii(m.group())[1:-1]}`, which is not text (bytes that are not UTF-8, "
                "or half of a surrogate pair)"
            )
    return None


def suggest(names: list[str], words: list[str]) -> list[str]:
    """Up to three command names close to what was typed."""
    import difflib  # only for a mistyped line

    scored = []
    for name in names:
        typed = " ".join(words[: len(name.split())])
        ratio = difflib.SequenceMatcher(None, typed, name).ratio()
        if ratio >= 0.6:
            scored.append((ratio, name))
    if not scored:
        return []
    best = max(scored)[0]  # keep only the near-best: "demo ad" should not offer "demo fail"
    return [name for ratio, name in sorted(scored, reverse=True)[:3] if ratio >= best - 0.1]


def no_command(table: CommandTable, words: list[str], otherwise: str = "") -> tuple[str, int]:
    """Why ``words``, which ``table.match`` finds no command in, cannot run, and the exit
    status: the one wording for the prompt and the recipe checker. ``otherwise`` ends the
    message when no close name can be suggested."""
    hint = suggest(table.all_names(), words)
    # The deepest group the words name (``kube tunnel`` as well as ``kube``).
    depth = next((n for n in range(len(words), 0, -1) if table.is_group(tuple(words[:n]))), 0)
    if depth:
        group = " ".join(words[:depth])
        subs = ", ".join(sorted(table.children(tuple(words[:depth]))))
        if len(words) == depth:
            return f"`{group}` needs a subcommand: {subs}", EX_USAGE
        more = f"did you mean: {', '.join(hint)}?" if hint else f"`{group}` has: {subs}"
        return f"unknown command `{group} {words[depth]}`; {more}", EX_NOTFOUND
    more = f"; did you mean: {', '.join(hint)}?" if hint else otherwise
    return f"unknown command `{words[0]}`{more}", EX_NOTFOUND


def no_subcommand(table: CommandTable, words: list[str], used: int) -> str | None:
    """For a line that fails to parse: "unknown command" when the command found is a group
    too and the word after it is no option (``context sett``), else None."""
    rest = words[used:]
    if not (table.is_group(tuple(words[:used])) and rest and not rest[0].startswith("-")):
        return None
    hint = suggest(table.all_names(), words)
    more = f"; did you mean: {', '.join(hint)}?" if hint else ""
    return f"unknown command `{' '.join(words[: used + 1])}`{more}"


def parse_words(parser: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    """Flags may come anywhere among the positionals, as users type them."""
    if "--" in words:  # intermixed parsing mishandles `--` before the positionals
        return parser.parse_args(words)
    try:
        return parser.parse_intermixed_args(words)
    except TypeError:  # parsers with REMAINDER or subparsers cannot intermix
        return parser.parse_args(words)


def execute(session: ShellSession, line: str) -> int:
    """Run one line; return its exit status. Never raises (but for SystemExit)."""
    try:
        words = split(line)
    except ValueError as e:
        session.warn(f"kshell: cannot split the line: {e} (check quotes and trailing \\)")
        return EX_USAGE
    if not words:
        return 0
    problem = not_text(words)
    if problem:
        session.warn(f"kshell: the line holds {problem}; type it as text")
        return EX_USAGE
    table = session.host.commands
    found = table.match(words)
    if found is None and words[-1] in ("-h", "--help") and table.children(tuple(words[:-1])):
        # `kube --help`, `kube tunnel -h`: a group has no parser of its own; list it.
        return execute(session, shlex.join(["help", *words[:-1]]))
    if found is None:
        message, status = no_command(table, words, "; type `help` for the list")
        session.warn(one_line(f"kshell: {message}"))
        return status
    entry, used = found
    cmd = entry.command
    rest = words[used:]
    if cmd.passthrough:
        args = argparse.Namespace(args=rest)
    else:
        try:
            args = parse_words(table.parser(entry), rest)
        except UsageError as e:
            unknown = no_subcommand(table, words, used)
            if unknown:
                session.warn(one_line(f"kshell: {unknown}"))
                return EX_NOTFOUND
            session.warn(e.usage.rstrip())
            session.warn(one_line(f"{cmd.name}: error: {e.message}"))
            return EX_USAGE
        except HelpShown:
            session.echo(table.parser(entry).format_help().rstrip())
            more = subcommands(table, tuple(words[:used]))
            if more:
                session.echo(more)
            return 0
    return invoke(session, cmd, args)


def subcommands(table, prefix: tuple[str, ...]) -> str:
    """For a command that is also a group (``context``, ``history``), the commands under
    it, as its help ends; "" for any other."""
    from kshell import format_table

    rows = [(f"{' '.join(prefix)} {w}", h) for w, h in sorted(table.children(prefix).items())]
    return "\n" + format_table(["COMMAND", "DESCRIPTION"], rows) if rows else ""


def invoke(session: ShellSession, cmd: Command, args: argparse.Namespace) -> int:
    """Run a command whose arguments are parsed already (recipes parse every line first)."""
    session.begin_command()
    try:
        status = cmd.handler(session, args)
    except CommandError as e:
        if e.message:  # DryRunStop has none: the dry run's `+ …` line said it all
            session.warn(one_line(f"{cmd.name}: {e.message}"))
        return e.status
    except KeyboardInterrupt:
        session.warn(f"{cmd.name}: interrupted")
        return EX_INTERRUPTED
    except Exception as e:
        where = session.log_exception(cmd.name)
        # The first line of the exception's text: the rest (a library may put a whole
        # traceback in it) is in the log with the traceback.
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        what = one_line(f"{type(e).__name__}: {first}" if first else type(e).__name__)
        session.warn(f"{cmd.name}: internal error: {what} (details in {where})")
        return EX_SOFTWARE
    finally:
        if not cmd.read_only:
            session.invalidate()
    try:
        return int(status or 0)
    except (TypeError, ValueError):
        return 0
