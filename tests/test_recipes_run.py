"""Recipes against the real test etcd and the fleetctl stand-in: checked before anything
runs, stop or keep going, resume (includes too), wait, dry runs that contact nothing.

etcdctl is ``real_etcdctl()``; fleetctl is the stand-in unless $KSHELL_TEST_FLEETCTL
names a real fleetctl 0.8.1.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import STANDINS, real_etcdctl

from kshell import Command, Setting, ToolEnv, hookimpl
from kshell.dispatch import execute
from kshell.session import open_session

FLEETCTL = os.environ.get("KSHELL_TEST_FLEETCTL") or str(STANDINS / "fleetctl")


def value_of(url: str, key: str) -> str | None:
    try:
        with urllib.request.urlopen(f"{url}/v2/keys{key}", timeout=5) as r:
            return json.load(r)["node"].get("value")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def put(url: str, key: str, value: str) -> None:
    data = urllib.parse.urlencode({"value": value}).encode()
    req = urllib.request.Request(f"{url}/v2/keys{key}", data=data, method="PUT")
    urllib.request.urlopen(req, timeout=5).read()


def keys(url: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/v2/keys/?recursive=true", timeout=5) as r:
        nodes = json.load(r)["node"].get("nodes", [])
    return sorted(n["key"] for n in nodes)


def write_config(home: Path, endpoint: str, **extra) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "contexts": {"default": {"etcd.endpoint": endpoint, "fleet.endpoint": endpoint}},
        "binaries": {"fleetctl": FLEETCTL, "etcdctl": real_etcdctl()},
        **extra,
    }
    cfg.write_text(yaml.safe_dump(data))


@pytest.fixture
def cluster(home, etcd):
    write_config(home, etcd.url)
    return etcd


@pytest.fixture
def recipe(tmp_path):
    def write(text: str, name: str = "r.ksh") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def kshell(home, *args, env=None, cwd=None):
    full = {**os.environ, "KSHELL_HOME": str(home), **(env or {})}
    full.pop("KSHELL_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-m", "kshell", *args], capture_output=True, text=True,
        env=full, timeout=120, cwd=cwd,
    )  # fmt: skip


# -- success, first failure, keep-going ------------------------------------------------


def test_success_echoes_each_line_and_sets_the_keys(cluster, home, recipe):
    path = recipe("""\
        # two keys
        set VALUE=one
        etcd set /a ${VALUE}
        etcd set /b \\
            ${OTHER:-two}
        etcd get /a
    """)
    r = kshell(home, "run", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"{path}:3: etcd set /a one",
        f"{path}:4: etcd set /b two",
        f"{path}:6: etcd get /a",
    ]
    assert r.stdout == "one\ntwo\none\n"
    assert (value_of(cluster.url, "/a"), value_of(cluster.url, "/b")) == ("one", "two")


FAILING = """\
    etcd set /a 1
    etcd get /missing
    etcd set /b 2
    etcd rmdir /not-a-dir
    etcd set /c 3
"""


def test_first_failure_stops_with_place_status_and_resume(cluster, home, recipe):
    path = recipe(FAILING)
    r = kshell(home, "run", str(path), "--quiet")
    assert r.returncode == 4, r.stderr  # etcdctl's status for a missing key
    assert (
        f"kshell run: {path}:2: `etcd get /missing` failed with status 4; "
        f"fix it and resume with `kshell run {path} --from 2`"
    ) in r.stderr
    assert keys(cluster.url) == ["/a"]


def test_keep_going_runs_every_line_and_names_each_failure(cluster, home, recipe):
    path = recipe(FAILING)
    r = kshell(home, "run", str(path), "--quiet", "--keep-going")
    assert r.returncode == 4
    assert keys(cluster.url) == ["/a", "/b", "/c"]
    last = r.stderr.splitlines()[-1]
    assert last.startswith("kshell run: 2 lines failed: ")
    assert f"{path}:2 `etcd get /missing` (status 4)" in last
    assert f"{path}:4 `etcd rmdir /not-a-dir` (status " in last


# -- resume, includes ----------------------------------------------------------------------


def test_resume_skips_included_files_before_the_line(cluster, home, recipe):
    recipe("etcd set /p1 x\netcd get /p-missing\netcd set /p3 x\n", name="part.ksh")
    main = recipe("etcd set /m1 x\ninclude part.ksh\netcd set /m3 x\n", name="main.ksh")
    r = kshell(home, "run", str(main), "--quiet")
    assert r.returncode == 4
    part = main.with_name("part.ksh")
    assert (
        f"{part}:2 (included from {main}:2): `etcd get /p-missing` failed with status 4; "
        f"fix it and resume with `kshell run {main} --from 2.2` (line 2 of {part})"
    ) in r.stderr
    assert keys(cluster.url) == ["/m1", "/p1"]
    # fixed: resume inside the include; nothing before it runs again
    put(cluster.url, "/p-missing", "here")
    for key in ("/m1", "/p1"):
        urllib.request.urlopen(
            urllib.request.Request(f"{cluster.url}/v2/keys{key}", method="DELETE")
        ).read()
    r = kshell(home, "run", str(main), "--from", "2.2")
    assert r.returncode == 0, r.stderr
    assert keys(cluster.url) == ["/m3", "/p-missing", "/p3"]
    assert r.stderr.splitlines()[0] == f"{part}:2 (included from {main}:2): etcd get /p-missing"
    # --from after the include: the included file does not run again
    r = kshell(home, "run", str(main), "--from", "3", "--quiet")
    assert r.returncode == 0 and r.stdout == "x\n"


@pytest.mark.parametrize(
    "start, problem",
    [
        ("9", "--from 9: {main} has 3 lines"),
        ("0", "--from takes line numbers from 1, not `0`"),
        ("1.1", "--from 1.1: {main}:1 is not an include line"),
        ("2.7", "--from 2.7: {part} has 3 lines"),
        ("x", "--from takes LINE or LINE.LINE (inside an include), not `x`"),
    ],
)
def test_from_outside_the_file_is_an_error(cluster, home, recipe, start, problem):
    recipe("etcd set /p1 x\netcd set /p2 x\netcd set /p3 x\n", name="part.ksh")
    main = recipe("etcd set /m1 x\ninclude part.ksh\netcd set /m3 x\n", name="main.ksh")
    r = kshell(home, "run", str(main), "--from", start)
    assert r.returncode == 2
    part = main.with_name("part.ksh")
    assert r.stderr == f"kshell run: {problem.format(main=main, part=part)}\n"
    assert keys(cluster.url) == []


def test_include_problems_name_the_including_line(cluster, home, recipe):
    recipe("etcd set /p x\nbogus thing\n", name="part.ksh")
    main = recipe("etcd set /m x\ninclude part.ksh\ninclude gone.ksh\n", name="main.ksh")
    r = kshell(home, "run", str(main))
    assert r.returncode == 2
    part, gone = main.with_name("part.ksh"), main.with_name("gone.ksh")
    assert r.stderr.splitlines() == [
        f"kshell run: {part}:2: unknown command `bogus` (included from {main}:2)",
        f"kshell run: {main}:3: include: no such file {gone}",
        f"kshell run: 2 problems in {main}; nothing was run",
    ]
    assert keys(cluster.url) == []


def test_include_cycle_is_found_before_anything_runs(cluster, home, recipe):
    recipe("etcd set /b x\ninclude a.ksh\n", name="b.ksh")
    a = recipe("etcd set /a x\ninclude b.ksh\n", name="a.ksh")
    r = kshell(home, "run", str(a))
    assert r.returncode == 2
    b = a.with_name("b.ksh")
    assert f"{b}:2: include cycle: {a} -> {b} -> {a} (included from {a}:2)" in r.stderr
    assert keys(cluster.url) == []


# -- every check before the first line ---------------------------------------------------


def test_every_problem_is_listed_and_nothing_runs(cluster, home, recipe):
    path = recipe("""\
        etcd set /first 1
        etcd frobnicate /x
        etcd set /only-a-key
        etcd set /k ${UNSET_VARIABLE}
        include missing.ksh
        wait
        wait --timeout soon etcd get /k
        wait --timeout 5 etcd gte /k
        etcd set /q 'no end
        fleet start
        etcd set /last 1
    """)
    r = kshell(home, "run", str(path))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[-1] == f"kshell run: 9 problems in {path}; nothing was run"
    expected = [
        (2, "unknown command `etcd frobnicate`"),
        (3, "etcd set: the following arguments are required: VALUE"),
        (4, "${UNSET_VARIABLE} is not set; pass --var UNSET_VARIABLE=VALUE or set it"),
        (5, "include: no such file"),
        (6, "wait: which command?"),
        (7, "wait: argument --timeout: not a number of seconds: 'soon'"),
        (8, "wait: unknown command `etcd gte`"),
        (9, "cannot split the line: No closing quotation (check quotes)"),
        (10, "fleet start: the following arguments are required: UNIT"),
    ]
    for (number, text), line in zip(expected, lines):
        assert line.startswith(f"kshell run: {path}:{number}: {text}"), (line, text)
    assert keys(cluster.url) == []


# -- wait --------------------------------------------------------------------------------


def test_wait_reruns_until_success(cluster, home, recipe):
    path = recipe("wait --timeout 30 --interval 0.2 etcd get /later\netcd set /after ok\n")
    timer = threading.Timer(1.0, put, (cluster.url, "/later", "arrived"))
    timer.start()
    try:
        r = kshell(home, "run", str(path), "--quiet")
    finally:
        timer.cancel()
    assert r.returncode == 0, r.stderr
    assert r.stdout == "arrived\nok\n"  # the failed attempts were quiet
    assert "Key not found" not in r.stderr
    assert value_of(cluster.url, "/after") == "ok"


def test_wait_timeout_fails_with_the_last_output(cluster, home, recipe):
    path = recipe("etcd set /a 1\nwait --timeout 1 --interval 0.3 etcd get /never\netcd set /b 2\n")
    started = time.monotonic()
    r = kshell(home, "run", str(path), "--quiet")
    assert time.monotonic() - started < 30
    assert r.returncode == 124
    lines = r.stderr.splitlines()
    assert any("Key not found" in line and "/never" in line for line in lines)
    assert "wait: `etcd get /never` did not succeed within 1s (" in r.stderr
    assert f"{path}:2: `wait --timeout 1 --interval 0.3 etcd get /never` failed" in r.stderr
    assert keys(cluster.url) == ["/a"]


def test_wait_at_the_prompt_and_fleet_wait_in_a_recipe(cluster, home, recipe):
    from fleetfake import register_machine, set_unit_state

    out, err = io.StringIO(), io.StringIO()
    session = open_session(out=out, err=err)
    assert execute(session, "wait --timeout 0.5 --interval 0.1 etcd get /nothing") == 124
    assert "did not succeed within 0.5s" in err.getvalue()
    put(cluster.url, "/something", "v")
    assert execute(session, "wait --timeout 5 etcd get /something") == 0
    assert out.getvalue() == "v\n"
    # the fleet plugin's own wait, inside a recipe
    register_machine(cluster.url, "m1" * 16, "10.1.1.11", {"role": "kubernetes"})
    set_unit_state(cluster.url, "hello.service", "m1" * 16)
    path = recipe("fleet wait hello.service --state active --timeout 5 --interval 0.2\n")
    r = kshell(home, "run", str(path), "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello.service: active on 1 machine\n"
    path = recipe("fleet wait other.service --timeout 0.5 --interval 0.2\n")
    r = kshell(home, "run", str(path), "--quiet")
    assert r.returncode == 1 and "other.service (no machine reports it)" in r.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wait_shows_one_progress_line_on_a_terminal(cluster, home):
    session = open_session(out=io.StringIO(), err=_Terminal())
    assert execute(session, "wait --timeout 1.2 --interval 0.2 etcd get /nothing") == 124
    err = session.err.getvalue()
    assert "\rwait: etcd get /nothing (up to 1.2s) … 1s (Ctrl-C stops)" in err
    assert "\r\x1b[K" in err  # erased before the result
    piped = open_session(out=io.StringIO(), err=io.StringIO())
    assert execute(piped, "wait --timeout 1.2 --interval 0.2 etcd get /nothing") == 124
    assert "\r" not in piped.err.getvalue()


# -- dry runs ------------------------------------------------------------------------------


def test_dry_run_contacts_nothing_and_changes_nothing(home, etcd, recipe, release_server):
    from httpfixture import publish
    from kshell_plugins.etcd.tools import ETCDCTL

    publish(release_server, ETCDCTL, "linux-amd64")
    spy = release_server.url  # every request to it is counted
    write_config(home, spy)
    config_before = (home / "config" / "config.yaml").read_text()
    path = recipe(f"""\
        etcd set /d 1
        etcd health
        etcd tree /coreos.com
        status
        doctor
        rudder config set --network 10.0.0.0/16
        context add other --set etcd.endpoint={etcd.url}
        use other
        etcd set /e 2
        wait --timeout 5 etcd get /e
        bin install etcdctl
        bin remove fleetctl
        bin forget etcdctl
        fleet machines
    """)
    r = kshell(home, "run", str(path), "--dry-run", "--quiet", env={"KSHELL_MIRROR": spy})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    env = lines[0].split(" etcdctl ")[0]  # the etcd plugin's variables, for this etcdctl
    assert f" ETCDCTL_PEERS={spy}" in env
    other = env.replace(spy, etcd.url)
    platform_url = release_server.url  # the mirror replaces the origin
    assert lines[0] == f"{env} etcdctl set -- /d 1"
    assert lines[1] == (
        f"+ GET {spy}/version, {spy}/v2/machines, {spy}/v2/leader, {spy}/v2/keys/"
    )
    assert lines[2] == f"+ GET {spy}/v2/keys/coreos.com?recursive=true&sorted=true"
    assert lines[3].startswith("+ status: ") and lines[4].startswith("+ doctor: ")
    assert lines[5] == '+ etcd mk /coreos.com/network/config {"Network":"10.0.0.0/16"}'
    assert lines[6] == "(dry run) added context other; `use other` switches to it"
    assert lines[7] == "(dry run) now using context other"
    assert lines[8] == f"{other} etcdctl set -- /e 2"
    assert lines[9] == "+ wait up to 5s, every 2s, until: etcd get /e"
    assert lines[10] == f"{other} etcdctl get -- /e"
    would = f"(dry run) etcdctl {ETCDCTL.version}: would download {platform_url}/"
    assert lines[11].startswith(would)
    assert lines[12].startswith("(dry run) fleetctl: no longer using ")
    assert lines[13] == "(dry run) fleetctl 0.8.1 is not installed; nothing to remove"
    assert lines[14].startswith("(dry run) etcdctl: would forget its recorded digests in ")
    assert lines[15].startswith(f"+ fleetctl --endpoint={etcd.url} ")
    assert release_server.count() == 0  # no HTTP request reached the loopback server
    assert keys(etcd.url) == []
    assert (home / "config" / "config.yaml").read_text() == config_before
    assert not any((home / "cache").rglob("etcdctl")) if (home / "cache").exists() else True


def test_dry_run_masks_secrets_and_confirmations_need_yes(home, recipe, tmp_path):
    tool = tmp_path / "vt"
    tool.write_text("#!/bin/sh\ntouch \"$0.ran\"\n")
    tool.chmod(0o755)

    class Secretive:
        @hookimpl
        def kshell_settings(self, register):
            register(Setting("vault.token", "a token", secret=True))

        @hookimpl
        def kshell_tool_env(self, tool, context):
            if tool == "vt":
                token = context.get("vault.token") or ""
                return ToolEnv(env={"VAULT_TOKEN": token}, args=[f"--token={token}"])
            return None

        @hookimpl
        def kshell_commands(self, register):
            def destroy(session, args):
                if not session.confirm(f"destroy {args.vm}?", yes=args.yes):
                    return 1
                return session.run("vt", ["destroy", args.vm]).status

            def arguments(p):
                p.add_argument("vm")
                p.add_argument("--yes", action="store_true")

            register(Command("vault destroy", "destroy a VM", destroy, arguments))

    out, err = io.StringIO(), io.StringIO()
    session = open_session(plugins="", out=out, err=err)
    session.host.register(Secretive(), "vault")
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(vt=str(tool)))
    session.update_config(
        lambda raw: raw.setdefault("contexts", {}).setdefault("default", {}).update(
            {"vault.token": "s3cr3t-value"}
        )
    )
    path = recipe("vault destroy vm1\n")
    assert execute(session, f"run {path} --dry-run --quiet") == 2
    assert err.getvalue() == (
        f"vault destroy: destroy vm1?: no one to ask here; pass --yes to go ahead\n"
        f"run: {path}:1: `vault destroy vm1` failed with status 2; "
        f"fix it and resume with `run {path} --from 1`\n"
    )
    assert execute(session, f"run {path} --dry-run --quiet --yes") == 0
    assert out.getvalue() == "+ VAULT_TOKEN=**** vt --token=**** destroy vm1\n"
    assert "s3cr3t" not in out.getvalue() + err.getvalue()
    assert not tool.with_name("vt.ran").exists()
    # without a dry run, the command's own --yes answers; the tool then runs
    assert execute(session, f"run {path} --quiet") == 2
    path = recipe("vault destroy vm1 --yes\n")
    assert execute(session, f"run {path} --quiet") == 0
    assert tool.with_name("vt.ran").exists()


def test_run_at_the_prompt_forgets_the_dry_runs_config(cluster, home, recipe):
    out, err = io.StringIO(), io.StringIO()
    session = open_session(out=out, err=err)
    path = recipe(f"context add staging --set etcd.endpoint={cluster.url}\nuse staging\n"
                  "etcd set /x ${V}\n")
    assert execute(session, f"run {path} --dry-run --var V=1") == 0
    assert "staging" not in session.config.contexts and session.context.name == "default"
    assert keys(cluster.url) == []
    assert execute(session, f"run {path} --var V=1") == 0
    assert session.context.name == "staging" and "staging" in session.config.contexts
    assert err.getvalue().splitlines()[-1] == f"{path}:3: etcd set /x 1"


def test_a_dry_run_marks_a_change_to_the_sandbox_context_too(home, recipe):
    # The sandbox's context lives in memory; its dry-run change is still a dry run's.
    out, err = io.StringIO(), io.StringIO()
    session = open_session(out=out, err=err)
    session.config.add_session_context("sandbox", {"etcd.endpoint": "http://127.0.0.1:9"})
    session.use("sandbox")
    path = recipe("context set kube.master http://10.9.9.9:8080\n")
    assert execute(session, f"run {path} --dry-run") == 0
    assert "(dry run) sandbox: kube.master = http://10.9.9.9:8080" in out.getvalue()
    assert session.context.get("kube.master") != "http://10.9.9.9:8080"


# -- history save ---------------------------------------------------------------------------


def test_history_save_masks_secrets_and_writes_a_header(home, tmp_path):
    class Secret:
        @hookimpl
        def kshell_settings(self, register):
            register(Setting("idcf.secret-key", "the secret key", secret=True))

    session = open_session(plugins="", out=io.StringIO(), err=io.StringIO())
    session.host.register(Secret(), "idcf")
    session.succeeded += [
        ("context add prod --set idcf.secret-key=abc123", "default"),
        ("context set idcf.secret-key xyz789", "default"),
        ("history", "default"),
        ("context list", "default"),
    ]
    target = tmp_path / "saved.ksh"
    assert execute(session, f"history save {target}") == 0
    text = target.read_text()
    assert "abc123" not in text and "xyz789" not in text
    head, _, body = text.partition("\n\n")
    assert head.startswith("# Saved by `history save` on ")
    assert "# Ran against context `default` (no settings)." in head
    assert "--var IDCF_SECRET_KEY=…" in head
    assert body.splitlines() == [
        "context add prod --set idcf.secret-key=${IDCF_SECRET_KEY}",
        "context set idcf.secret-key ${IDCF_SECRET_KEY}",
        "context list",
    ]
    assert execute(session, f"history save {target} --last 1") == 0
    assert target.read_text().rstrip().splitlines()[-1] == "context list"
    assert "1 command that succeeded" in target.read_text()


# -- arbitrary text ---------------------------------------------------------------------------

FRAGMENTS = [
    "", "# note", "context list", "context add x${N}", "use x1", "use nowhere", "set N=1",
    "set M=${N}", "etcd set /k ${M:-v}", "include part.ksh", "include r.ksh", "include",
    "include 'a b'", "wait", "wait --timeout 0.1 --interval 0.05 use nowhere",
    "wait --timeout x help", "run r.ksh", "run part.ksh --dry-run", "history save out.ksh",
    "'unterminated", "line \\", "help ${UNSET}", "bin install", "exit", "status", "\t",
    "context set k v", "\\", "${", "#!", "env", "fleet", "help --nope",
]


def test_arbitrary_recipes_never_raise_and_errors_carry_file_line(home, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from kshell.recipes import plan
    from kshell.replay import Options, run_recipe

    line = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20))
    place = __import__("re").compile(r"(^|\s)\S*\.ksh:\d+[:( ]")

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(line, max_size=8), st.lists(line, max_size=4))
    def check(main_lines, part_lines):
        main = tmp_path / "r.ksh"
        main.write_text("\n".join(main_lines))
        (tmp_path / "part.ksh").write_text("\n".join(part_lines))
        out, err = io.StringIO(), io.StringIO()
        session = open_session(plugins="", out=out, err=err, dry_run=True)
        checked = plan(session.host.commands, main)
        for problem in checked.problems:
            assert problem.startswith(f"{main}:") or problem.startswith(f"{tmp_path}/part.ksh:")
            assert place.search(problem), problem
        status = run_recipe(session, main, Options({}, quiet=True))
        if status != 0:
            last = err.getvalue().rstrip("\n").splitlines()[-1]
            assert place.search(last) or "--from" in last or "nothing was run" in last, last
        assert not (tmp_path / "out.ksh").exists()  # a dry run writes nothing

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        check()
    finally:
        os.chdir(old)


def test_run_and_history_save_complete_recipe_files(home, tmp_path, monkeypatch):
    from kshell.completion import complete

    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "net.ksh").write_text("context list\n")
    (tmp_path / "recipes" / "notes.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    session = open_session(plugins="", out=io.StringIO(), err=io.StringIO())
    assert [s.text for s in complete(session, "run rec")] == ["recipes/"]
    assert [s.text for s in complete(session, "run recipes/")] == ["recipes/net.ksh"]
    assert [s.text for s in complete(session, "history save recipes/n")] == ["recipes/net.ksh"]


def test_a_nul_byte_in_a_line_is_a_problem_before_anything_runs(cluster, home, recipe):
    path = recipe('etcd set /first 1\netcd set /k "a\x00b"\n')
    r = kshell(home, "run", str(path))
    assert r.returncode == 2
    assert r.stderr.splitlines()[0].startswith(
        f"kshell run: {path}:2: the line holds a NUL byte (\\x00)"
    )
    assert "internal error" not in r.stderr
    assert keys(cluster.url) == []


def test_the_echo_of_a_line_is_one_printable_line(home, recipe):
    # a recipe line carrying a terminal escape (ESC, from a copied text) is echoed escaped
    path = recipe('help "\x1b[2Jx"\n')
    r = kshell(home, "run", str(path))
    assert f"{path}:1: help " in r.stderr and "\x1b" not in r.stderr
