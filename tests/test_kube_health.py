"""The master's health in doctor and status, and kube wait: fleet's view and the API's own.

fleet's state is written the way fleetd writes it (tests/fleetfake.py) and read through
fleetctl (the stand-in, or the real 0.8.1 with KSHELL_TEST_FLEETCTL); the API server is
the `apiserver` fixture, with or without the `scheduler` fixture (KSHELL_TEST_APISERVER /
KSHELL_TEST_SCHEDULER swap in the real v0.3 ones).
"""

from __future__ import annotations

import http.server
import io
import os
import subprocess
import sys
import threading

import pytest
import yaml
from conftest import STANDINS
from fleetfake import register_machine, set_unit_state
from kshell_plugins.kube import health, units
from kubefixtures import kubecfg_binary

from kshell import parse_tabwriter_table
from kshell.dispatch import execute
from kshell.host import PluginHost
from kshell.session import open_session


def _fleetctl() -> str:
    """The real fleetctl when named, else the stand-in run by this interpreter (its
    ``#!/usr/bin/env python3`` may go through a slow version-manager shim, and these tests
    run fleetctl a few times per check)."""
    real = os.environ.get("KSHELL_TEST_FLEETCTL")
    if real:
        return real
    import atexit
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="kshell-fleetctl-")
    atexit.register(shutil.rmtree, d, True)
    path = os.path.join(d, "fleetctl")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec "{sys.executable}" "{STANDINS / "fleetctl"}" "$@"\n')
    os.chmod(path, 0o755)
    return path


FLEETCTL = _fleetctl()

MASTER = "07914a50e1d34a4f9f0b3d2c1a0e9f8d"  # 127.0.0.1: a minion of the apiserver fixture
NODE = "46bdac0c7b7e4bd3a1f25c6d8e9f0a1b"  # 10.0.0.5: the fixture's other minion
ETCD_MACHINE = "c31a70012b3c4d5e6f708192a3b4c5d6"
LATE = "bb805b88aa334455667788990011aabb"  # 10.1.1.27: a kubernetes machine not registered


class Shell:
    """kube and fleet plugins; ``run(line)`` → (status, stdout, stderr)."""

    def __init__(self, home, settings: dict[str, str], fleetctl: str | None = FLEETCTL) -> None:
        cfg = home / "config" / "config.yaml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        binaries = {"kubecfg": kubecfg_binary()} | ({"fleetctl": fleetctl} if fleetctl else {})
        cfg.write_text(yaml.safe_dump({"contexts": {"default": settings}, "binaries": binaries}))
        self.out, self.err = io.StringIO(), io.StringIO()
        host = PluginHost().load(only="kube,fleet")
        self.session = open_session(host=host, out=self.out, err=self.err)

    def run(self, line: str) -> tuple[int, str, str]:
        for stream in (self.out, self.err):
            stream.seek(0)
            stream.truncate()
        status = execute(self.session, line)
        return status, self.out.getvalue(), self.err.getvalue()

    def checks(self, wait: bool = True) -> dict[str, health.Check]:
        return {c.name: c for c in health.checks(self.session, wait=wait)}


@pytest.fixture(autouse=True)
def _no_fleetctl_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("FLEETCTL_"):
            monkeypatch.delenv(name)


def submit(etcd, tmp_path, names=units.ORDER) -> None:
    """Put units into fleet's registry with fleetctl itself, as `fleetctl submit` does."""
    d = tmp_path / "submitted"
    d.mkdir(exist_ok=True)
    rendered = units.render(etcd.url)
    for name in names:
        (d / name).write_text(rendered[name])
    done = subprocess.run(
        [FLEETCTL, f"--endpoint={etcd.url}", "--request-timeout=1", "submit",
         *(str(d / n) for n in names)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def cluster(etcd, tmp_path, *, scheduler: bool = True, scheduler_state: str = "active") -> None:
    """The seed's cluster after the tutorial: master units on MASTER, node units on both."""
    register_machine(etcd.url, MASTER, "127.0.0.1", {"role": "kubernetes"})
    register_machine(etcd.url, NODE, "10.0.0.5", {"role": "kubernetes"})
    register_machine(etcd.url, ETCD_MACHINE, "10.1.1.245", {"role": "etcd"})
    names = [n for n in units.ORDER if scheduler or n != "kube-scheduler.service"]
    submit(etcd, tmp_path, names)
    for name in names:
        if name in health.NODE_UNITS:
            for machine in (MASTER, NODE):
                set_unit_state(etcd.url, name, machine)
        else:
            active = scheduler_state if name == "kube-scheduler.service" else "active"
            sub = "running" if active == "active" else "dead"
            set_unit_state(etcd.url, name, MASTER, active=active, sub=sub)


@pytest.fixture
def shell(apiserver, etcd, home):
    return Shell(home, {
        "kube.master": apiserver.url, "fleet.endpoint": etcd.url, "etcd.endpoint": etcd.url,
        "fleet.request-timeout": "1", "kube.scheduling-grace": "1",
    })  # fmt: skip


# -- fleetctl tables by column --------------------------------------------------------------


def test_columns_keep_empty_cells_in_place():
    # tools-2014.md §1.4: observed with the real 0.8.1, load/active/sub empty.
    text = "UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\na.service\t2c1f1a0e...\t\t\t\n"
    assert parse_tabwriter_table(text) == [
        {"unit": "a.service", "machine": "2c1f1a0e...", "active": "", "sub": ""}
    ]
    # An empty cell in the middle: splitting on runs of TABs would shift `running` left.
    text = "UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\na.service\t2c1f1a0e.../127.0.0.1\t\trunning\n"
    assert parse_tabwriter_table(text)[0] == {
        "unit": "a.service", "machine": "2c1f1a0e.../127.0.0.1", "active": "", "sub": "running"
    }  # fmt: skip


def test_fleet_view_reads_machines_files_and_states(shell, etcd, tmp_path):
    cluster(etcd, tmp_path)
    view = health.fleet_view(shell.session)
    assert view.machines[MASTER] == ("127.0.0.1", {"role": "kubernetes"})
    assert set(view.files) == set(units.ORDER)
    assert view.active_on("kube-scheduler.service") == [(MASTER, "127.0.0.1")]
    assert sorted(view.active_on("kube-proxy.service")) == [(MASTER, "127.0.0.1"),
                                                            (NODE, "10.0.0.5")]  # fmt: skip


# -- fleet's side ------------------------------------------------------------------------------


def test_a_healthy_master(shell, etcd, tmp_path, scheduler, apiserver):
    cluster(etcd, tmp_path)
    apiserver.create_pod("hello-pod")
    apiserver.wait_for(lambda: apiserver.pod_host("hello-pod"), what="the scheduler")
    found = shell.checks()
    bad = {n: c for n, c in found.items() if c.status != "ok"}
    assert not bad, bad
    for name in (*health.MASTER_UNITS, *health.NODE_UNITS, "API server", "minions",
                 "pods scheduled"):  # fmt: skip
        assert name in found
    assert "Kubernetes v0.3" in found["API server"].detail
    status, out, _ = shell.run("doctor")
    assert status == 0 and "[ok  ] kube: kube-scheduler.service: active on 07914a50" in out


def test_a_missing_scheduler_is_named_with_the_fix(shell, etcd, tmp_path):
    cluster(etcd, tmp_path, scheduler=False)
    check = shell.checks()["kube-scheduler.service"]
    assert check.status == "fail"
    assert "not in fleet" in check.detail and "stay Waiting" in check.detail
    assert check.fix == (
        f"kube units render --etcd {etcd.url} --out kube-units, "
        "then fleet start kube-units/kube-scheduler.service"
    )
    status, out, _ = shell.run("doctor")
    assert status == 1
    assert "[FAIL] kube: kube-scheduler.service: kube-scheduler.service is not in fleet" in out
    assert "fix: kube units render" in out
    status, out, _ = shell.run("status")
    assert "kube: fleet: apiserver active, scheduler MISSING, controller-manager active" in out


def test_a_failed_scheduler_unit(shell, etcd, tmp_path):
    cluster(etcd, tmp_path, scheduler_state="failed")
    check = shell.checks()["kube-scheduler.service"]
    assert check.status == "fail"
    assert "not active" in check.detail and "failed on 07914a50.../127.0.0.1" in check.detail
    assert "fleet journal kube-scheduler.service" in check.fix


def test_node_units_missing_on_a_machine(shell, etcd, tmp_path):
    cluster(etcd, tmp_path)
    register_machine(etcd.url, LATE, "10.1.1.27", {"role": "kubernetes"})
    found = shell.checks()
    for unit in health.NODE_UNITS:
        assert found[unit].status == "fail"
        assert found[unit].detail == "not active on bb805b88.../10.1.1.27"
    # ... and it is not a minion either: kube-register is what registers it.
    assert found["minions"].status == "fail"
    assert "not registered as minions: 10.1.1.27" in found["minions"].detail
    assert "kube-register" in found["minions"].fix


def test_fleet_unreachable_is_one_check(shell, etcd, monkeypatch):
    shell.run("context set fleet.endpoint http://127.0.0.1:1")
    found = shell.checks()
    assert found["fleet units"].status == "fail"
    assert found["fleet units"].detail.startswith("cannot read fleet's state:")
    assert "\n" not in found["fleet units"].detail
    assert found["API server"].status == "ok"  # the API's side is still checked
    assert found["fleet units"].fix == "context set fleet.endpoint URL (or fleet.tunnel HOST)"


def test_fleetctl_missing_is_a_warning_whose_fix_installs_it(home, apiserver):
    shell = Shell(home, {"kube.master": apiserver.url}, fleetctl=None)
    found = shell.checks()
    assert found["fleet units"].status == "warn"
    assert found["fleet units"].detail == "not read: fleetctl 0.8.1 is not installed"
    assert found["fleet units"].fix == "bin install fleetctl"
    status, out, _ = shell.run("status")
    assert out.count("fleetctl 0.8.1 is not installed") == 1, out  # said once, not by kube too


# -- the API's side ----------------------------------------------------------------------------


def test_pods_without_a_host_mean_no_scheduler_whatever_fleet_says(shell, etcd, tmp_path,
                                                                   apiserver):  # fmt: skip
    cluster(etcd, tmp_path)  # fleet says kube-scheduler.service is active ...
    apiserver.create_pod("hello-pod")  # ... but no scheduler runs (no `scheduler` fixture)
    found = shell.checks()  # waits out the 1 s grace
    assert found["kube-scheduler.service"].status == "ok"
    check = found["pods scheduled"]
    assert check.status == "fail"
    assert check.detail == (
        "1 pod(s) without a host for more than 1s (hello-pod): no scheduler is running"
    )
    assert "kube-units/kube-scheduler.service" in check.fix and "fleet journal" in check.fix
    status, out, _ = shell.run("status")
    assert "minions: 2, pods: 1 (1 without a host past 1s: no scheduler?)" in out


def test_a_young_pod_is_given_the_grace(shell, apiserver, scheduler):
    apiserver.create_pod("hello-pod")
    shell.run("context set kube.scheduling-grace 30")
    check = health.scheduling_check(
        shell.session, apiserver.url, [apiserver.get("pods", "hello-pod")], wait=False
    )
    assert check.status in ("ok", "warn")  # placed already, or still within the grace
    apiserver.wait_for(lambda: apiserver.pod_host("hello-pod"), what="the scheduler")
    assert shell.checks()["pods scheduled"].status == "ok"


def test_the_scheduler_places_pods(shell, apiserver, scheduler):
    apiserver.create_pod("hello-pod")
    apiserver.wait_for(lambda: apiserver.pod_host("hello-pod"), what="the scheduler")
    check = shell.checks()["pods scheduled"]
    assert check.status == "ok" and check.detail == "1 pod(s), every one has a host"


class _NotKubernetes(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"ok" if self.path == "/healthz" else b"<html>an admin page</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_an_http_server_that_is_not_kubernetes_is_not_the_api(shell):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotKubernetes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shell.run(f"context set kube.master http://127.0.0.1:{server.server_address[1]}")
        check = shell.checks()["API server"]
    finally:
        server.shutdown()
        server.server_close()
    assert check.status == "fail" and "not as a Kubernetes API server" in check.detail


def test_an_unreachable_api_suggests_the_tunnel_to_the_apiserver_machine(shell, etcd, tmp_path):
    cluster(etcd, tmp_path)
    shell.run("context set kube.master http://127.0.0.1:1")
    check = shell.checks()["API server"]
    assert check.status == "fail" and "connection refused" in check.detail
    assert check.fix.startswith("kube tunnel open core@127.0.0.1")
    status, out, _ = shell.run("status")
    assert "kube: master http://127.0.0.1:1: no answer" in out


def test_the_api_through_the_tunnel(shell, apiserver, etcd, tmp_path):
    from kshell_plugins.kube import tunnel

    cluster(etcd, tmp_path)
    shell.run("context set kube.master http://127.0.0.1:1")
    shell.run(f"context set kube.tunnel.ssh {STANDINS / 'ssh'}")
    shell.run(f"context set kube.tunnel.remote-port {apiserver.url.rsplit(':', 1)[1]}")
    try:
        # No target given or set: the machine fleet runs kube-apiserver.service on.
        status, out, err = shell.run("kube tunnel open")
        assert status == 0, err
        assert "the apiserver runs on 127.0.0.1 (fleet): tunnelling through core@127.0.0.1" in out
        check = shell.checks()["API server"]
        assert check.status == "ok" and "through the tunnel to core@127.0.0.1" in check.detail
        status, out, _ = shell.run("status")
        assert "kube: tunnel http://127.0.0.1:" in out
    finally:
        shell.session.close()
        rec = tunnel.load("default")
        if rec is not None:
            tunnel._end(rec)


# -- kube wait ---------------------------------------------------------------------------------


def test_wait_minions(shell):
    status, out, _ = shell.run("kube wait minions 2 --timeout 5")
    assert status == 0 and out.strip() == "2 minion(s) registered: 10.0.0.5, 127.0.0.1"
    status, out, err = shell.run("kube wait minions 3 --timeout 1")
    assert status == 1
    assert err.strip() == (
        "kube wait minions: 2 of 3 minion(s) after 1s (10.0.0.5, 127.0.0.1); "
        "is kube-register running? (doctor)"
    )


def test_wait_pod_says_what_was_reached(shell, apiserver):
    apiserver.create_pod("hello-pod")
    status, _, err = shell.run("kube wait pod hello-pod --state Running --timeout 1")
    assert status == 1
    assert "pod hello-pod is Waiting with no host (is a scheduler running?" in err
    assert len(err.splitlines()) == 1
    status, out, _ = shell.run("kube wait pod hello-pod --state Waiting --timeout 5")
    assert status == 0 and out.strip() == "pod hello-pod is Waiting"
    status, _, err = shell.run("kube wait pod nosuch --timeout 1")
    assert status == 1 and "pod nosuch not Running after 1s: no such pod yet at http" in err


def test_wait_pod_sees_the_host_the_scheduler_gives(shell, apiserver, scheduler):
    apiserver.create_pod("hello-pod")
    apiserver.wait_for(lambda: apiserver.pod_host("hello-pod"), what="the scheduler")
    status, _, err = shell.run("kube wait pod hello-pod --state Running --timeout 1")
    assert status == 1 and "is Waiting on " in err and "no host" not in err


def test_wait_against_an_unreachable_master(shell):
    shell.run("context set kube.master http://127.0.0.1:1")
    status, _, err = shell.run("kube wait minions 1 --timeout 1")
    assert status == 1
    assert (
        "0 of 1 minion(s) after 1s; last try at http://127.0.0.1:1: no answer: connection " in err
    )


def test_dry_run_waits_for_nothing(apiserver, etcd, home):
    sh = Shell(home, {"kube.master": "http://127.0.0.1:1"})
    sh.session.dry_run = True
    status, out, _ = sh.run("kube wait minions 3 --timeout 100")
    assert status == 0 and out.strip() == "+ wait up to 100s for 3 minion(s) to be registered"
    status, out, _ = sh.run("kube wait pod redis-master-2 --timeout 300")
    assert status == 0 and out.strip() == "+ wait up to 300s for pod redis-master-2 to be Running"


def test_the_tunnel_target_completes_to_the_apiserver_machine(shell, etcd, tmp_path):
    import time

    from kshell_plugins.kube import ops

    cluster(etcd, tmp_path)
    deadline = time.monotonic() + 20
    while not (found := ops._complete_target(shell.session, "")) and time.monotonic() < deadline:
        time.sleep(0.1)  # the first fill runs in the background
    assert [(c.text, c.meta) for c in found] == [("core@127.0.0.1", "runs kube-apiserver.service")]
    assert ops._complete_target(shell.session, "admin@") == []
