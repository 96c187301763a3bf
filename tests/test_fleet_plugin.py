"""The fleet plugin end to end: kshell lines → the pinned fleetctl → a real etcd.

fleetctl is the stand-in in tests/standins/fleetctl unless KSHELL_TEST_FLEETCTL names
a real fleetctl 0.8.1; every test here must pass unchanged with either. The machine
and unit states fleetd would write come from tests/fleetfake.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import PYTHON, STANDINS, real_etcdctl
from fleetfake import launch, register_machine, set_unit_state, target_state
from kshell_plugins.fleet import complete

from kshell import CommandError
from kshell.dispatch import execute
from kshell.sandbox import free_port
from kshell.session import open_session

FLEETCTL = os.environ.get("KSHELL_TEST_FLEETCTL") or str(STANDINS / "fleetctl")

M1 = "07914a50e1d34a4f9f0b3d2c1a0e9f8d"
M2 = "46bdac0c7b7e4bd3a1f25c6d8e9f0a1b"
M3 = "c31a70012b3c4d5e6f708192a3b4c5d6"

HELLO = (
    "[Unit]\nDescription=Hello World\n\n[Service]\n"
    'ExecStart=/bin/sh -c "while true; do echo Hello; sleep 1; done"\n\n'
    "[X-Fleet]\nConflicts=hello*.service\n"
)
GLOBAL = (
    "[Unit]\nDescription=Kubernetes Proxy\n\n[Service]\nExecStart=/opt/bin/proxy\n\n"
    "[X-Fleet]\nGlobal=true\nMachineMetadata=role=kubernetes\n"
)


class Shell:
    """A kshell session writing to StringIO; ``run(line)`` → (status, stdout, stderr)."""

    def __init__(self, home, settings: dict[str, str], dry_run: bool = False) -> None:
        import yaml

        cfg = home / "config" / "config.yaml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(
            yaml.safe_dump(
                {
                    "contexts": {"default": settings},
                    "binaries": {"fleetctl": FLEETCTL, "etcdctl": real_etcdctl()},
                }
            )
        )
        self.out, self.err = io.StringIO(), io.StringIO()
        self.session = open_session(out=self.out, err=self.err, dry_run=dry_run)

    def run(self, line: str) -> tuple[int, str, str]:
        for stream in (self.out, self.err):
            stream.seek(0)
            stream.truncate()
        status = execute(self.session, line)
        return status, self.out.getvalue(), self.err.getvalue()


@pytest.fixture(autouse=True)
def _no_fleetctl_env(monkeypatch):
    """fleetctl reads FLEETCTL_* itself, and so do the fleet.* settings: none from outside."""
    for name in list(os.environ):
        if name.startswith("FLEETCTL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    d = tmp_path / "units"
    d.mkdir()
    (d / "hello.service").write_text(HELLO)
    (d / "kube-proxy.service").write_text(GLOBAL)
    (d / "notes.txt").write_text("not a unit")
    monkeypatch.chdir(d)
    return d


@pytest.fixture
def shell(etcd, home, workdir):
    return Shell(
        home,
        {"fleet.endpoint": etcd.url, "etcd.endpoint": etcd.url, "fleet.request-timeout": "1"},
    )


@pytest.fixture
def cluster(etcd):
    """The seed's cluster: three kubernetes nodes and the etcd machine."""
    register_machine(etcd.url, M1, "10.1.0.77", {"role": "kubernetes"})
    register_machine(etcd.url, M2, "10.1.1.180", {"role": "kubernetes", "zone": "a"})
    register_machine(etcd.url, M3, "10.1.1.245", {"role": "etcd"})
    return etcd


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


# -- settings, tool env ------------------------------------------------------------------


def test_global_flags_come_from_the_context(shell, etcd, monkeypatch):
    status, out, _ = shell.run("env fleetctl")
    assert status == 0
    assert f"flags: --endpoint={etcd.url} --request-timeout=1" in out
    status, _, err = shell.run("context set fleet.endpoint http://a:4001,http://b:4001")
    assert status == 2 and "one etcd URL" in err
    assert shell.run("context set fleet.tunnel 10.1.1.245")[0] == 0
    assert "--tunnel=10.1.1.245" in shell.run("env fleetctl")[1]
    monkeypatch.setenv("FLEETCTL_ENDPOINT", "http://10.9.9.9:4001")
    assert "--endpoint=http://10.9.9.9:4001" in shell.run("env fleetctl")[1]


def test_endpoint_falls_back_to_etcd_endpoint(etcd, home, workdir):
    sh = Shell(home, {"etcd.endpoint": f"{etcd.url},http://10.0.0.2:4001"})
    assert f"--endpoint={etcd.url} " in sh.run("env fleetctl")[1]
    sh = Shell(home, {})
    assert "--endpoint=http://127.0.0.1:4001 " in sh.run("env fleetctl")[1]


def test_flags_are_placed_where_fleetctl_needs_them(etcd, home, workdir):
    sh = Shell(home, {"fleet.endpoint": etcd.url}, dry_run=True)
    status, out, _ = sh.run("fleet start hello.service --no-block")
    assert status == 0
    assert out.strip() == (
        f"+ fleetctl --endpoint={etcd.url} --request-timeout=3 start --no-block hello.service"
    )
    out = sh.run("fleet stop a.service --timeout 2 b.service")[1]
    assert out.strip().endswith("stop --block-attempts=4 a.service b.service")
    out = sh.run("fleet journal hello.service -f -n 5")[1]
    assert out.strip().endswith("journal --lines=5 --follow hello.service")
    out = sh.run("fleet ssh -A hello.service -- ls -l")[1]
    assert out.strip().endswith("ssh -A hello.service ls -l")


def test_a_custom_key_prefix_reaches_fleetctl_and_kshells_own_reads(shell, etcd):
    """fleet.etcd-key-prefix → --etcd-key-prefix for fleetctl; status, doctor and
    completion read the same registry."""
    register_machine(etcd.url, M1, "10.1.0.77", {"role": "kubernetes"})  # the default prefix
    register_machine(etcd.url, M2, "10.1.1.180", {"role": "etcd"}, prefix="/custom/fleet/")
    assert shell.run("context set fleet.etcd-key-prefix /custom/fleet")[0] == 0
    assert "--etcd-key-prefix=/custom/fleet/" in shell.run("env fleetctl")[1]
    status, out, _ = shell.run("fleet machines --full")
    assert status == 0
    assert rows(out)[1:] == [[M2, "10.1.1.180", "role=etcd"]]
    assert shell.run("fleet submit hello.service")[0] == 0
    assert target_state(etcd.url, "hello.service", prefix="/custom/fleet/") == "inactive"
    assert target_state(etcd.url, "hello.service") is None
    assert "fleet: machines: 1 (etcd 1)" in shell.run("status")[1]
    assert "[ok  ] fleet: machines: 1 registered" in shell.run("doctor")[1]
    found = _texts(_eventually(lambda: complete.machines(shell.session, "")))
    assert M2 in found and M1 not in found
    # The default prefix is fleetctl's own default: no flag for it.
    assert shell.run("context set fleet.etcd-key-prefix /_coreos.com/fleet/")[0] == 0
    assert "--etcd-key-prefix" not in shell.run("env fleetctl")[1]
    assert [r[0] for r in rows(shell.run("fleet machines --full")[1])[1:]] == [M1]


def test_known_hosts_file_reaches_fleetctl(shell, home, monkeypatch):
    monkeypatch.setenv("HOME", str(home))
    assert shell.run("context set fleet.known-hosts-file ~/fleet_known_hosts")[0] == 0
    out = shell.run("env fleetctl")[1]
    assert f"--known-hosts-file={home}/fleet_known_hosts" in out.split()
    # fleetctl takes it among its global flags, before the command name.
    status, out, err = shell.run("fleet machines")
    assert (status, err) == (0, "")
    sh = Shell(home, {"fleet.known-hosts-file": "/etc/kh"}, dry_run=True)
    line = sh.run("fleet machines")[1].strip()
    assert line.split()[:5] == [
        "+",
        "fleetctl",
        "--endpoint=http://127.0.0.1:4001",
        "--request-timeout=3",
        "--known-hosts-file=/etc/kh",
    ] and line.endswith(" list-machines --full")


def test_unit_names_that_start_with_a_dash(shell, workdir):
    """`--` keeps fleetctl from taking `-dash.service` for a flag, in every command."""
    (workdir / "-dash.service").write_text(HELLO.replace("Hello World", "Dash"))
    assert shell.run("fleet submit -- -dash.service") == (0, "", "")
    status, out, err = shell.run("fleet cat -- -dash.service")
    assert (status, err) == (0, "") and "Description=Dash" in out
    status, out, err = shell.run("fleet unit-files")
    assert "-dash.service" in [r[0] for r in rows(out)]
    assert shell.run("fleet start --no-block -- -dash.service") == (
        0, "Triggered unit -dash.service start\n", ""
    )  # fmt: skip
    assert shell.run("fleet destroy -- -dash.service") == (0, "Destroyed -dash.service\n", "")


def test_an_unknown_subcommand_is_127_with_the_closest_names(shell):
    status, out, err = shell.run("fleet strat hello.service")
    assert (status, out) == (127, "")
    assert (
        err == "kshell: unknown command `fleet strat`; did you mean: fleet start, fleet status?\n"
    )
    status, _, err = shell.run("fleet unit-file")
    assert status == 127 and "did you mean: fleet unit-files" in err
    status, _, err = shell.run("fleet bogus")
    assert status == 127 and err.count("\n") == 1 and "did you mean: fleetctl, fleet units" in err
    # A command that is also a group (`rudder config`, `rudder config set`): its parser
    # rejects the word, which is a mistyped subcommand.
    status, _, err = shell.run("rudder config sett --network 10.0.0.0/16")
    assert (status, err) == (
        127,
        "kshell: unknown command `rudder config sett`; "
        "did you mean: rudder config, rudder config set?\n",
    )


def test_raw_fleetctl(shell):
    status, out, _ = shell.run("fleetctl version")
    assert (status, out) == (0, "fleetctl version 0.8.1\n")


def test_waits_and_timeouts_are_finite(shell):
    """`1e999` is infinity to Python: it once overflowed --block-attempts and the timer."""
    for line in (
        "fleet start hello.service --timeout 1e999",
        "fleet wait hello.service --timeout 1e300",
        "fleet wait hello.service --interval inf",
    ):
        status, _, err = shell.run(line)
        assert status == 2, line
        assert err.splitlines()[-1].endswith("must be at most 86400 seconds (a day)"), err
    for value in ("inf", "1e999", "86401"):
        status, _, err = shell.run(f"context set fleet.request-timeout {value}")
        assert status == 2 and "at most 86400" in err, value


# -- listings ----------------------------------------------------------------------------


def test_machines_table_json_and_filters(shell, cluster):
    status, out, err = shell.run("fleet machines")
    assert (status, err) == (0, "")
    assert rows(out) == [
        ["MACHINE", "IP", "METADATA"],
        ["07914a50...", "10.1.0.77", "role=kubernetes"],
        ["46bdac0c...", "10.1.1.180", "role=kubernetes,zone=a"],
        ["c31a7001...", "10.1.1.245", "role=etcd"],
    ]
    status, out, _ = shell.run("fleet machines --full --role kubernetes")
    assert [r[0] for r in rows(out)[1:]] == [M1, M2]
    status, out, _ = shell.run("fleet machines --json --meta role=kubernetes --meta zone=a")
    assert json.loads(out) == [
        {"machine": M2, "ip": "10.1.1.180", "metadata": {"role": "kubernetes", "zone": "a"}}
    ]
    status, out, _ = shell.run("fleet machines --role etcd --role kubernetes --json")
    assert len(json.loads(out)) == 3
    assert shell.run("fleet machines --meta nonsense")[0] == 2


def test_empty_cluster_lists_headers_only(shell):
    assert shell.run("fleet machines")[1] == "MACHINE  IP  METADATA\n"
    assert shell.run("fleet units --json")[1] == "[]\n"
    assert shell.run("fleet unit-files")[1] == "UNIT  HASH  DSTATE  STATE  TARGET\n"


def test_submit_unit_files_cat_destroy(shell):
    status, out, err = shell.run("fleet submit hello.service")
    assert (status, err) == (0, "")
    status, out, _ = shell.run("fleet unit-files")
    assert rows(out) == [
        ["UNIT", "HASH", "DSTATE", "STATE", "TARGET"],
        ["hello.service", "9d0ffa4", "inactive", "inactive", "-"],
    ]
    [record] = json.loads(shell.run("fleet unit-files --json")[1])
    assert record == {
        "unit": "hello.service",
        "hash": "9d0ffa4ff58a95af7edfe837e6172f9619814f7e",
        "desired": "inactive",
        "state": "inactive",
        "target": None,
    }
    status, out, _ = shell.run("fleet cat hello")
    assert (status, out) == (0, HELLO)
    status, out, _ = shell.run("fleet destroy hello.service nosuch.service")
    assert (status, out) == (0, "Destroyed hello.service\n")
    status, out, err = shell.run("fleet cat hello.service")
    assert (status, out, err) == (1, "", "Unit hello.service not found\n")
    status, _, err = shell.run("fleet submit missing.service")
    assert status == 1
    assert err == (
        "Error creating units: unable to find Unit(missing.service) in Registry or on filesystem\n"
    )


def test_units_lists_states(shell, cluster):
    assert shell.run("fleet submit hello.service")[0] == 0
    set_unit_state(cluster.url, "hello.service", M2, active="active", sub="running")
    status, out, _ = shell.run("fleet units")
    assert rows(out) == [
        ["UNIT", "MACHINE", "ACTIVE", "SUB"],
        ["hello.service", "46bdac0c.../10.1.1.180", "active", "running"],
    ]
    [record] = json.loads(shell.run("fleet units --json")[1])
    assert record == {
        "unit": "hello.service",
        "machine": M2,
        "ip": "10.1.1.180",
        "active": "active",
        "sub": "running",
    }
    out = shell.run("fleet unit-files --full")[1]
    assert rows(out)[1][2:] == ["inactive", "loaded", f"{M2}/10.1.1.180"]


def test_units_with_empty_states_keep_their_columns(shell, cluster):
    """0.8.1 prints an empty active or sub as an empty cell (§1.4): nothing shifts left."""
    set_unit_state(cluster.url, "a.service", M1, load="", active="", sub="")
    set_unit_state(cluster.url, "b.service", M2, load="loaded", active="", sub="dead")
    records = json.loads(shell.run("fleet units --json")[1])
    assert [(r["unit"], r["machine"], r["ip"], r["active"], r["sub"]) for r in records] == [
        ("a.service", M1, "10.1.0.77", None, None),
        ("b.service", M2, "10.1.1.180", None, "dead"),
    ]
    assert rows(shell.run("fleet units")[1])[1:] == [
        ["a.service", "07914a50.../10.1.0.77", "-", "-"],
        ["b.service", "46bdac0c.../10.1.1.180", "-", "dead"],
    ]
    status, _, err = shell.run("fleet wait b.service --state dead --timeout 1 --interval 0.2")
    assert (status, err) == (0, "")


# -- changing state ----------------------------------------------------------------------


def test_start_with_the_flag_after_the_unit(shell, cluster):
    status, out, err = shell.run("fleet start hello.service --no-block")
    assert (status, out, err) == (0, "Triggered unit hello.service start\n", "")
    assert rows(shell.run("fleet unit-files")[1])[1][2] == "launched"


def test_flags_between_units(shell, cluster):
    status, out, _ = shell.run("fleet submit hello.service kube-proxy.service")
    assert status == 0
    status, out, _ = shell.run("fleet load hello --no-block kube-proxy.service")
    assert status == 0
    assert sorted(out.splitlines()) == [
        "Triggered global unit kube-proxy.service load",
        "Triggered unit hello.service load",
    ]


def test_blocking_start_without_an_agent_is_bounded(shell, cluster):
    t = time.monotonic()
    status, out, err = shell.run("fleet start hello.service --timeout 1")
    assert time.monotonic() - t < 8
    assert status == 1
    assert err == (
        "hello.service: desired launched, current inactive (no agent reported launched within 1s;"
        " `fleet machines` lists the agents, --timeout S waits longer)\n"
    )
    # Run again: fleetctl skips a unit already desired launched and exits 0; kshell does not.
    status, _, err = shell.run("fleet start hello.service --timeout 0.5")
    assert status == 1 and "current inactive" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_blocking_start_shows_progress_on_a_terminal(shell, cluster):
    shell.session.interactive = True
    shell.session.err = _Terminal()
    status = execute(shell.session, "fleet start hello.service --timeout 1.2")
    err = shell.session.err.getvalue()
    assert status == 1
    assert "\rfleet start: waiting up to 1.2s for hello.service to be launched … 1s" in err
    assert "(no agent reported launched within 1.2s; `fleet machines`" in err
    # without a terminal the same wait prints no progress line (see the test above)


def test_blocking_start_with_an_agent(shell, cluster):
    """A fake fleetd schedules and launches the unit while fleetctl waits."""

    def agent():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if target_state(cluster.url, "hello.service") == "launched":
                set_unit_state(cluster.url, "hello.service", M1)
                launch(cluster.url, "hello.service", M1)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    status, out, err = shell.run("fleet start hello.service --timeout 10")
    thread.join()
    assert (status, err) == (0, "")
    assert out == "Unit hello.service launched on 07914a50.../10.1.0.77\n"
    assert rows(shell.run("fleet unit-files")[1])[1][2:4] == ["launched", "launched"]


def test_global_units_never_block(shell, cluster):
    t = time.monotonic()
    status, out, err = shell.run("fleet start kube-proxy.service")
    assert (status, out, err) == (0, "Triggered global unit kube-proxy.service start\n", "")
    assert time.monotonic() - t < 5


def test_stop_and_unload(shell, cluster):
    assert shell.run("fleet submit hello.service")[0] == 0
    status, _, err = shell.run("fleet stop hello.service --no-block")
    assert (status, err) == (1, "Unable to stop unit hello.service in state inactive\n")
    status, out, err = shell.run("fleet unload hello.service")
    assert (status, out, err) == (0, "", "")
    status, _, err = shell.run("fleet unload nosuch")
    assert status == 0 and err == "nosuch.service: not in the registry; nothing to unload\n"


# -- looking at units --------------------------------------------------------------------


def test_status_and_journal_of_unknown_units(shell):
    status, out, err = shell.run("fleet status hello.service")
    assert (status, out, err) == (1, "", "Unit hello.service does not exist.\n")
    status, _, err = shell.run("fleet journal hello.service -n 3")
    assert status == 1 and err == "Unit hello.service does not exist.\n"
    # At a terminal these get the terminal (here stdin is no tty: output is streamed).
    shell.session.interactive = True
    status, _, err = shell.run("fleet status hello.service")
    assert status == 1 and "Unit hello.service does not exist." in err


def test_ssh_resolves_an_ip_to_its_machine(cluster, home, workdir):
    sh = Shell(home, {"fleet.endpoint": cluster.url})
    assert complete.resolve_machine(sh.session, "10.1.1.180") == M2
    assert complete.resolve_machine(sh.session, "46bdac0c...") == "46bdac0c"
    with pytest.raises(CommandError) as e:
        complete.resolve_machine(sh.session, "10.9.9.9")
    assert e.value.message == "no fleet machine has the IP 10.9.9.9 (`fleet machines` lists them)"
    # a dry run contacts nothing: it says what it would read and passes the IP on
    dry = Shell(home, {"fleet.endpoint": cluster.url}, dry_run=True)
    out = dry.run("fleet ssh 10.1.1.180 uname -a")[1].splitlines()
    assert out[0] == (
        f"+ GET {cluster.url}/v2/keys/_coreos.com/fleet/machines?recursive=true&sorted=true "
        "(the machine with IP 10.1.1.180)"
    )
    assert out[1].endswith("ssh 10.1.1.180 uname -a")


def test_ssh_to_nothing(shell):
    status, _, err = shell.run("fleet ssh nosuch.service")
    assert (status, err) == (1, "Unable to proceed: could not find matching unit or machine\n")


# -- version -----------------------------------------------------------------------------


def test_version_mismatch_is_one_line(shell, etcd):
    register_machine(etcd.url, M1, "10.1.0.77", {"role": "kubernetes"}, version="0.9.0")
    register_machine(etcd.url, M2, "10.1.1.180", {"role": "kubernetes"}, version="0.8.1")
    status, out, err = shell.run("fleet machines")
    assert status == 0 and len(rows(out)) == 3
    assert "####" not in err and "WARNING" not in err
    assert err == (
        "fleet: the cluster runs fleet 0.9.0, newer than the pinned fleetctl 0.8.1; "
        "commands may misbehave (get fleetctl 0.9.0 and `bin use fleetctl PATH`)\n"
    )
    assert shell.run("fleet units")[2] == ""  # said once per session
    status, out, err = shell.run("doctor")
    assert "[WARN] fleet: version: the cluster runs fleet 0.8.1 on 1 machine, 0.9.0 on 1" in out
    assert "fix: run a fleetctl matching the cluster" in out
    status, out, err = shell.run("fleet version")
    assert status == 0
    assert out == (
        "fleetctl 0.8.1 (the pinned version)\n"
        "cluster: fleet 0.8.1 on 1 machine, 0.9.0 on 1 machine\n"
    )
    assert "newer than the pinned fleetctl 0.8.1" in err
    out = shell.run("status")[1]
    assert "fleet: machines: 2 (kubernetes 2)" in out
    assert "fleet: cluster runs fleet 0.9.0, newer than the pinned fleetctl 0.8.1" in out


def test_matching_versions_are_quiet(shell, cluster):
    _, out, _ = shell.run("doctor")
    assert "[ok  ] fleet: version: fleet 0.8.1 on 3 machines, as pinned" in out
    _, out, _ = shell.run("status")
    assert "fleet: machines: 3 (kubernetes 2, etcd 1)" in out


# -- unreachable -------------------------------------------------------------------------


def test_unreachable_endpoint_is_one_bounded_line(etcd, home, workdir):
    url = f"http://127.0.0.1:{free_port()}"
    sh = Shell(home, {"fleet.endpoint": url, "fleet.request-timeout": "0.3"})
    t = time.monotonic()
    status, out, err = sh.run("fleet machines")
    assert time.monotonic() - t < 10
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"fleet machines: cannot reach etcd at {url}: ")
    assert "timeout reached" in err
    assert err.rstrip().endswith("`context set fleet.endpoint URL`")
    status, _, err = sh.run("fleet start hello.service")
    assert status == 1 and len(err.splitlines()) == 1 and url in err
    status, out, _ = sh.run("doctor")
    assert f"[FAIL] fleet: etcd: etcd at {url} did not answer: connection refused\n" in out
    assert "fix: context set fleet.endpoint URL" in out


# -- wait --------------------------------------------------------------------------------


def test_wait_until_active(shell, cluster):
    assert shell.run("fleet submit hello.service kube-proxy.service")[0] == 0

    def agent():
        time.sleep(0.5)
        set_unit_state(cluster.url, "hello.service", M1, active="active", sub="running")
        set_unit_state(cluster.url, "kube-proxy.service", M1, active="activating", sub="start-pre")
        set_unit_state(cluster.url, "kube-proxy.service", M2, active="active", sub="running")
        time.sleep(0.5)
        set_unit_state(cluster.url, "kube-proxy.service", M1, active="active", sub="running")

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    status, out, err = shell.run("fleet wait hello kube-proxy.service --timeout 10 --interval 0.2")
    thread.join()
    assert (status, err) == (0, "")
    assert out == "hello.service: active on 1 machine\nkube-proxy.service: active on 2 machines\n"


def test_wait_times_out_naming_the_units(shell, cluster):
    set_unit_state(cluster.url, "hello.service", M1, active="failed", sub="failed")
    t = time.monotonic()
    status, out, err = shell.run("fleet wait hello.service web.service --timeout 1 --interval 0.3")
    assert time.monotonic() - t < 6
    assert status == 1
    assert err == (
        "fleet wait: not active after 1s: hello.service (failed/failed on 07914a50.../10.1.0.77); "
        "web.service (no machine reports it)\n"
    )


# -- completion --------------------------------------------------------------------------


def _eventually(fn, deadline=5.0):
    end = time.monotonic() + deadline
    while True:
        got = fn()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.05)


def _texts(candidates):
    return [getattr(c, "text", c) for c in candidates]


def test_completion_units_files_machines(shell, cluster):
    assert shell.run("fleet submit hello.service")[0] == 0
    s = shell.session
    assert _texts(_eventually(lambda: complete.units(s, "he"))) == ["hello.service"]
    assert _texts(complete.files(s, "")) == ["hello.service", "kube-proxy.service"]
    assert _texts(complete.units_and_files(s, "k")) == ["kube-proxy.service"]
    found = _texts(_eventually(lambda: complete.ssh_targets(s, "")))
    for text in (M1[:8], M1, "10.1.0.77", M3[:8], "10.1.1.245", "hello.service"):
        assert text in found
    assert _texts(complete.machines(s, "10.1.1.2")) == ["10.1.1.245"]
    assert complete.roles(s, "") == ["etcd", "kubernetes"]
    assert complete.metadata(s, "zone") == ["zone=a"]


def test_completion_through_the_command_table(shell, cluster):
    from kshell.completion import complete as complete_line

    assert shell.run("fleet submit hello.service")[0] == 0
    s = shell.session

    def texts(line):
        return [c.text.strip() for c in complete_line(s, line)]

    assert "start" in texts("fleet st")
    assert _eventually(lambda: texts("fleet cat he")) == ["hello.service"]
    assert texts("fleet start --no-block ku") == ["kube-proxy.service"]
    assert _eventually(lambda: texts("fleet ssh 10.1.0")) == ["10.1.0.77"]
    assert texts("fleet machines --role k") == ["kubernetes"]


def test_completion_never_blocks_on_a_dead_endpoint(etcd, home, workdir):
    # A listening socket that never answers: the loader hangs, the keystroke does not.
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        sh = Shell(home, {"fleet.endpoint": url})
        t = time.monotonic()
        assert _texts(complete.units_and_files(sh.session, "hel")) == ["hello.service"]
        assert complete.ssh_targets(sh.session, "") == []
        assert time.monotonic() - t < 1.0
    finally:
        srv.close()


def test_loading_the_plugin_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from kshell.host import PluginHost\n"
        "h = PluginHost().load('fleet')\n"
        "assert not h.load_errors(), h.load_errors()\n"
        "assert 'fleet start' in h.commands.all_names()\n"
        "print(sorted(m for m in ('requests', 'yaml', 'sh') if m in sys.modules))\n"
    )
    out = subprocess.run([PYTHON or sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
