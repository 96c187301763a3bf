"""Recipes in a real terminal: Ctrl-C stops the recipe and its tool; a session saved
with ``history save`` replays."""

from __future__ import annotations

import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from test_recipes_run import keys, kshell, value_of, write_config
from test_repl_pty import Shell, plain, shell_env


def _processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker`` (zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.slow
def test_ctrl_c_stops_the_recipe_and_its_tool(home, etcd, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    write_config(home, etcd.url)
    marker = f"/ctrl-c-{uuid.uuid4().hex}"
    recipe = tmp_path / "r.ksh"
    recipe.write_text(f"etcd set /before 1\netcdctl watch {marker}\netcd set /after 1\n")
    child = pexpect.spawn(
        sys.executable, ["-m", "kshell", "run", str(recipe)],
        env=shell_env(home), encoding="utf-8", timeout=20,
    )  # fmt: skip
    try:
        child.expect(f"r.ksh:2: etcdctl watch {marker}")
        assert _until(lambda: _processes_with(marker), 10), "etcdctl watch never started"
        time.sleep(0.2)
        child.sendintr()
        child.expect(pexpect.EOF)
        seen = plain(child.before)
        child.close()
    finally:
        if child.isalive():
            child.terminate(force=True)
    assert child.exitstatus == 130, seen
    assert (
        f"kshell run: interrupted at {recipe}:2 (`etcdctl watch {marker}`); "
        f"resume with `kshell run {recipe} --from 2`"
    ) in seen.replace("\n", "")
    assert _until(lambda: not _processes_with(marker), 5), "etcdctl outlived the recipe"
    assert value_of(etcd.url, "/before") == "1" and value_of(etcd.url, "/after") is None


@pytest.mark.slow
def test_history_save_of_a_session_replays(home, etcd, tmp_path):
    write_config(home, etcd.url)
    shell = Shell(home)
    saved = tmp_path / "saved.ksh"
    try:
        shell.prompt()
        shell.run("etcd set /h1 a")
        assert "Key not found" in shell.run("etcd get /nope")  # failed: not saved
        shell.run('etcd set /h2 "two words"')
        shell.run("context list")
        assert f"saved 3 commands to {saved}" in shell.run(f"history save {saved}")
        shell.send("exit\r")
        assert shell.exit_status() == 0
    finally:
        shell.close()
    text = saved.read_text()
    head, _, body = text.partition("\n\n")
    assert "# Ran against context `default` (" in head and f"etcd.endpoint={etcd.url}" in head
    assert body.splitlines() == ["etcd set /h1 a", 'etcd set /h2 "two words"', "context list"]
    for key in ("/h1", "/h2"):
        req = urllib.request.Request(f"{etcd.url}/v2/keys{key}", method="DELETE")
        urllib.request.urlopen(req).read()
    r = kshell(home, "run", str(saved), env={"PATH": os.environ["PATH"]})
    assert r.returncode == 0, r.stderr
    assert keys(etcd.url) == ["/h1", "/h2"] and value_of(etcd.url, "/h2") == "two words"
