"""The command history file, in prompt_toolkit's ``FileHistory`` format.

Each entry is one record, appended with a single ``os.write`` on an ``O_APPEND``
descriptor, so concurrent shells never interleave and a crash leaves at most one
torn record at the end of the file::

    <blank line>
    # 2014-09-20 12:00:00.000000 crc32=1c291ca3
    +context list

The ``crc32`` in the comment line (which ``FileHistory`` ignores) lets the loader
skip a torn record even after later records were appended behind it; a record
without one (written by plain ``FileHistory``) is accepted unless it is the last
one and the file does not end with a newline.

Secrets never reach the file: ``context set KEY VALUE`` (and ``context add …
--set KEY=VALUE``) for a secret setting is stored with the value as ``****``.

This module must not import prompt_toolkit: the ``history`` command reads the
file from ``kshell -c`` too. The prompt_toolkit adapter lives in ``kshell.repl``.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import zlib
from collections.abc import Container, Iterable, Mapping
from pathlib import Path

from kshell import paths

MASK = "****"
_CRC = re.compile(r"\bcrc32=([0-9a-f]{8})\s*$")


def _crc(entry: str) -> str:
    return f"{zlib.crc32(entry.encode('utf-8', errors='replace')) & 0xFFFFFFFF:08x}"


def format_record(entry: str, now: datetime.datetime | None = None) -> bytes:
    """The bytes appended for ``entry``: FileHistory's record plus a checksum."""
    now = now or datetime.datetime.now()
    lines = "".join(f"+{line}\n" for line in entry.split("\n"))
    return f"\n# {now} crc32={_crc(entry)}\n{lines}".encode("utf-8", errors="replace")


def append_entry(entry: str, path: Path | None = None) -> None:
    """Append one entry with one ``write`` on an ``O_APPEND`` descriptor (mode 0600)."""
    path = path or paths.history_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = format_record(entry)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, data)
        if written != len(data):  # a short write (disk full): the loader skips it
            raise OSError(f"short write to {path} ({written} of {len(data)} bytes)")
    finally:
        os.close(fd)


def parse_entries(data: bytes) -> list[str]:
    """The entries in ``data``, oldest first; torn records are left out."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    complete_tail = text.endswith("\n")
    if complete_tail:
        lines.pop()  # the empty string after the final newline
    entries: list[str] = []
    header = ""
    current: list[str] = []

    def flush(last: bool) -> None:
        if not current:
            return
        entry = "\n".join(current)
        m = _CRC.search(header)
        if m:
            if m.group(1) == _crc(entry):
                entries.append(entry)
        elif not (last and not complete_tail):
            entries.append(entry)

    for line in lines:
        if line.startswith("+"):
            current.append(line[1:])
        else:
            flush(last=False)
            current = []
            header = line
    flush(last=True)
    return entries


def load_entries(path: Path | None = None) -> list[str]:
    path = path or paths.history_file()
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return []
    return parse_entries(data)


def read_history() -> list[str]:
    """The stored command lines, oldest first (the ``history`` command)."""
    try:
        return load_entries()
    except OSError:
        return []


# -- secrets -----------------------------------------------------------------


def redact(line: str, secret_keys: Container[str]) -> str:
    """``line`` with the values of secret settings replaced by ``****``.

    Covers ``context set [--context NAME] KEY VALUE`` and ``context add NAME --set
    KEY=VALUE``. A line that does not split (an unclosed quote) and names a secret
    setting is cut after the setting's name.
    """
    try:
        from kshell.dispatch import split  # the one line splitter

        words = split(line)
    except ValueError:
        words = None
    if words is None:
        rough = line.split()
        for i, word in enumerate(rough):
            key = word.strip("'\"").split("=", 1)[0]
            if key in secret_keys:
                return " ".join([*rough[:i], f"{key}={MASK}" if "=" in word else key, MASK])
        return line
    if words[:2] != ["context", "set"] and words[:2] != ["context", "add"]:
        return line
    changed = False
    out = list(words[:2])
    rest = words[2:]
    positional: list[int] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("--set", "--context") and i + 1 < len(rest):
            value = rest[i + 1]
            if word == "--set":
                value, hid = _mask_pair(value, secret_keys)
                changed |= hid
            out += [word, value]
            i += 2
            continue
        if word.startswith("--set="):
            value, hid = _mask_pair(word[len("--set=") :], secret_keys)
            changed |= hid
            out.append(f"--set={value}")
        else:
            if not word.startswith("-"):
                positional.append(len(out))
            out.append(word)
        i += 1
    if words[1] == "set" and len(positional) >= 2 and out[positional[0]] in secret_keys:
        for index in positional[1:]:
            out[index] = MASK
        changed = True
    return _join(out) if changed else line


def _join(words: list[str]) -> str:
    """Like ``shlex.join``, but the mask reads as ``****``, not ``'****'``."""
    return " ".join(w if w == MASK or w.endswith(f"={MASK}") else shlex.quote(w) for w in words)


def _mask_pair(pair: str, secret_keys: Container[str]) -> tuple[str, bool]:
    key, sep, _ = pair.partition("=")
    if sep and key in secret_keys:
        return f"{key}={MASK}", True
    return pair, False


def may_carry_secret(line: str, settings: Mapping[str, object]) -> bool:
    """Whether ``line`` is a ``context set``/``context add`` that may hold a secret value.

    For a line that was rejected: it names a secret setting (in any spelling, ``KEY=VALUE``
    included), a setting no plugin knows (a mistyped secret's name), or a URL with a
    password. Such a line is kept
    out of history altogether.
    """
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    if words[:2] not in (["context", "set"], ["context", "add"]):
        return False
    lowered = line.lower()
    if any(n.lower() in lowered for n, s in settings.items() if getattr(s, "secret", False)):
        return True
    if re.search(r"://[^/@\s]*:[^/@\s]*@", line):  # a password in a URL
        return True
    keys: list[str] = []
    positional: list[str] = []
    rest = words[2:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("--set", "--context") and i + 1 < len(rest):
            if word == "--set":
                keys.append(rest[i + 1].partition("=")[0])
            i += 2
            continue
        if word.startswith("--set="):
            keys.append(word[len("--set=") :].partition("=")[0])
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    if words[1] == "set" and positional:
        keys.append(positional[0].partition("=")[0])
    return any(key not in settings for key in keys)


def secret_settings(settings: Iterable[tuple[str, object]]) -> set[str]:
    """The names of secret settings among ``settings.items()``."""
    return {name for name, s in settings if getattr(s, "secret", False)}


def store(session, line: str, path: Path | None = None) -> str:
    """Redact ``line`` for ``session``'s secret settings and append it; returns what was stored."""
    stored = redact(line, secret_settings(session.host.settings.items()))
    stored = session.mask(stored)  # a known secret typed anywhere else on the line
    append_entry(stored, path)
    return stored
