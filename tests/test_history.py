"""The history file: one-write appends, torn records skipped, secrets never stored."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import textwrap

import pytest

import kshell
from kshell import Setting, history, paths
from kshell.config import load_config
from kshell.dispatch import execute
from kshell.host import PluginHost
from kshell.session import ShellSession


class Secrets:
    @kshell.hookimpl
    def kshell_settings(self, register):
        register(Setting("demo.endpoint", "Demo endpoint"))
        register(Setting("demo.token", "Demo API token", secret=True))


@pytest.fixture
def session(home):
    host = PluginHost().load("")
    host.register(Secrets(), "demo")
    return ShellSession(host, load_config(), out=io.StringIO(), err=io.StringIO())


# -- format and atomic append ------------------------------------------------------


def test_entries_round_trip_and_file_history_reads_them(home):
    from prompt_toolkit.history import FileHistory

    for entry in ("help", "context set demo.endpoint http://10.0.0.1:4001", "a\nb"):
        history.append_entry(entry)
    path = paths.history_file()
    assert history.read_history() == [
        "help",
        "context set demo.endpoint http://10.0.0.1:4001",
        "a\nb",
    ]
    theirs = list(FileHistory(str(path)).load_history_strings())
    assert theirs == ["a\nb", "context set demo.endpoint http://10.0.0.1:4001", "help"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_entry_is_one_write_on_an_append_descriptor(home, monkeypatch):
    opened, writes = [], []
    real_open, real_write = os.open, os.write

    def spy_open(path, flags, *args):
        fd = real_open(path, flags, *args)
        opened.append((fd, flags))
        return fd

    def spy_write(fd, data):
        writes.append((fd, bytes(data)))
        return real_write(fd, data)

    monkeypatch.setattr(history.os, "open", spy_open)
    monkeypatch.setattr(history.os, "write", spy_write)
    history.append_entry("context list")
    history.append_entry("line one\nline two")
    assert len(opened) == 2 and len(writes) == 2
    for (fd, flags), (wfd, _) in zip(opened, writes):
        assert flags & os.O_APPEND and wfd == fd
    assert writes[0][1].endswith(b"\n+context list\n")


def test_concurrent_appenders_never_interleave(home):
    script = textwrap.dedent(
        """
        import sys
        from kshell import history
        for i in range(150):
            history.append_entry(f"{sys.argv[1]}-{i} " + "x" * 300)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, f"p{n}"], env=os.environ.copy())
        for n in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    entries = history.read_history()
    assert len(entries) == 600
    assert sorted(entries) == sorted(f"p{n}-{i} " + "x" * 300 for n in range(4) for i in range(150))


# -- torn records ----------------------------------------------------------------------


def _records(*entries: str) -> list[bytes]:
    return [history.format_record(e) for e in entries]


def test_a_torn_last_record_is_skipped_wherever_it_was_cut():
    good = b"".join(_records("help", "status"))
    last = history.format_record("context set demo.endpoint http://10.0.0.1:4001")
    for cut in range(len(last) - 1):
        assert history.parse_entries(good + last[:cut]) == ["help", "status"], cut
    # only the final newline missing: the checksum shows the entry is whole
    assert history.parse_entries(good + last[:-1])[-1].startswith("context set")
    assert history.parse_entries(good + last)[-1].startswith("context set")


def test_a_torn_multi_line_record_is_skipped():
    record = history.format_record("one\ntwo")
    cut = record.index(b"+two")  # ends cleanly after "+one\n"
    assert history.parse_entries(history.format_record("help") + record[:cut]) == ["help"]


def test_a_torn_record_stays_skipped_after_later_appends(home):
    path = paths.history_file()
    path.parent.mkdir(parents=True)
    torn = history.format_record("context set demo.endpoint http://10.0.0.1:4001")
    path.write_bytes(history.format_record("help") + torn[: len(torn) - 8])
    history.append_entry("status")
    assert history.read_history() == ["help", "status"]


def test_plain_file_history_records_are_read_and_a_cut_one_is_skipped():
    data = b"\n# 2014-09-20 12:00:00\n+help\n\n# 2014-09-20 12:00:01\n+status\n"
    assert history.parse_entries(data) == ["help", "status"]
    assert history.parse_entries(data[:-1]) == ["help"]


def test_a_missing_or_unreadable_file_is_no_history(home):
    assert history.read_history() == []
    paths.state_dir().mkdir(parents=True)
    paths.history_file().mkdir()
    assert history.read_history() == []


def test_garbage_bytes_do_not_break_loading():
    data = b"\xff\xfe\n+ok\n\x00" + history.format_record("help")
    assert history.parse_entries(data)[-1] == "help"


# -- secrets ------------------------------------------------------------------------------------


SECRETS = {"demo.token"}


@pytest.mark.parametrize(
    "line, stored",
    [
        ("context set demo.token s3cr3t", "context set demo.token ****"),
        ("context set --context p demo.token s3cr3t", "context set --context p demo.token ****"),
        ("context set demo.token s3cr3t --context=p", "context set demo.token **** --context=p"),
        ("context set 'demo.token' \"s3 cr3t\"", "context set demo.token ****"),
        ("context add prod --set demo.token=s3cr3t", "context add prod --set demo.token=****"),
        ("context add prod --set=demo.token=s3cr3t", "context add prod --set=demo.token=****"),
        ("context set demo.token 's3cr3t", "context set demo.token ****"),
        ("context set demo.endpoint http://x:4001", "context set demo.endpoint http://x:4001"),
        ("context   list", "context   list"),
        ("etcd get /demo.token", "etcd get /demo.token"),
    ],
)
def test_redact(line, stored):
    assert history.redact(line, SECRETS) == stored


def test_secret_values_never_reach_the_file(session):
    history.store(session, "context set demo.token s3cr3t")
    history.store(session, "context set demo.endpoint http://10.0.0.1:4001")
    data = paths.history_file().read_bytes()
    assert b"s3cr3t" not in data
    assert history.read_history() == [
        "context set demo.token ****",
        "context set demo.endpoint http://10.0.0.1:4001",
    ]


def test_the_prompt_history_redacts_in_memory_and_on_disk(session):
    from kshell.repl import _make_history

    h = _make_history(session)
    h.append_string("context set demo.token s3cr3t")
    h.settle(0)  # a line is kept once it has run
    h.append_string("help")
    h.settle(0)
    assert h.get_strings() == ["context set demo.token ****", "help"]
    assert b"s3cr3t" not in paths.history_file().read_bytes()
    again = _make_history(session)
    assert list(again.load_history_strings()) == ["help", "context set demo.token ****"]


def test_the_history_command_lists_the_file(session):
    for line in ("help", "context list", "use default"):
        history.append_entry(line)
    assert execute(session, "history -n 2") == 0
    assert session.out.getvalue().splitlines() == ["    1  context list", "    2  use default"]
