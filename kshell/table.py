"""The command table: names (one or more words) to commands, and their argparse parsers."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from kshell import Command


class UsageError(Exception):
    """The command's parser rejected the arguments; ``usage`` is its usage text."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class HelpShown(Exception):
    """``-h``/``--help`` printed the command's help."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that never exits the process."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message, self.format_usage())

    def print_help(self, file=None) -> None:  # type: ignore[override]
        # The caller prints the help to the session's stream; argparse would use stdout.
        raise HelpShown()

    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        if message:
            raise UsageError(message.strip(), self.format_usage())
        raise HelpShown()


@dataclass
class Entry:
    command: Command
    owner: str


class CommandTable:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, ...], Entry] = {}
        self._parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def add(self, command: Command, owner: str) -> str | None:
        """Add ``command``; returns a problem text when the name is taken or empty."""
        key = tuple(command.name.split())
        if not key:
            return "a command with an empty name was skipped"
        if key in self.entries:
            other = self.entries[key].owner
            return f"command `{command.name}` is already provided by {other}; skipped"
        self.entries[key] = Entry(command, owner)
        return None

    def __iter__(self):
        return iter(sorted(self.entries.values(), key=lambda e: e.command.name))

    def get(self, name: str) -> Entry | None:
        return self.entries.get(tuple(name.split()))

    def match(self, words: list[str]) -> tuple[Entry, int] | None:
        """The longest command name that starts ``words``, and how many words it took."""
        for n in range(len(words), 0, -1):
            entry = self.entries.get(tuple(words[:n]))
            if entry:
                return entry, n
        return None

    def children(self, prefix: tuple[str, ...]) -> dict[str, str]:
        """The words that may follow ``prefix``, each with a one-line description."""
        out: dict[str, str] = {}
        depth = len(prefix)
        for key, entry in self.entries.items():
            if len(key) > depth and key[:depth] == prefix:
                word = key[depth]
                if len(key) == depth + 1:
                    out[word] = entry.command.help
                else:
                    out.setdefault(word, f"{' '.join(key[: depth + 1])} commands")
        return out

    def is_group(self, words: tuple[str, ...]) -> bool:
        return any(len(k) > len(words) and k[: len(words)] == words for k in self.entries)

    def parser(self, entry: Entry) -> argparse.ArgumentParser:
        key = tuple(entry.command.name.split())
        parser = self._parsers.get(key)
        if parser is None:
            cmd = entry.command
            parser = _Parser(
                prog=cmd.name,
                description=cmd.description or cmd.help,
                add_help=not cmd.passthrough,
                allow_abbrev=False,
            )
            if cmd.arguments:
                cmd.arguments(parser)
            self._parsers[key] = parser
        return parser

    def all_names(self) -> list[str]:
        return sorted(" ".join(k) for k in self.entries)
