"""Kubernetes v0.3 servers for the kube tests: API server, scheduler, controller-manager.

Fixtures (registered from conftest.py):

- ``apiserver``: an API server on a free loopback port against the suite's real test etcd
  (emptied before each test by the ``etcd`` fixture, so no test sees another's objects),
  with minions ``127.0.0.1`` and ``10.0.0.5`` and ``-health_check_minions=false`` (no kubelet
  runs in tests). The real v0.3 apiserver when ``KSHELL_TEST_APISERVER`` names it, else the
  stand-in ``tests/standins/apiserver``. Yields an :class:`ApiServer` (``.url``, REST helpers).
- ``scheduler``: the scheduler against that API server: the real one when
  ``KSHELL_TEST_SCHEDULER`` names it, else ``tests/standins/scheduler``. Without this fixture
  new pods keep no host, as on the seed's broken master.
- ``controller_manager``: the real v0.3 controller-manager (replication controllers create
  and remove pods). There is no stand-in: it runs only with the real binaries, from
  ``KSHELL_TEST_CONTROLLER_MANAGER`` or, when that is not set, the ``controller-manager``
  beside the real apiserver named by ``KSHELL_TEST_APISERVER``; otherwise the test is skipped.
- ``kube_shell``: a kshell session (``run(line) -> (status, stdout, stderr)``) whose context
  points at ``apiserver`` and whose kubecfg is ``KSHELL_TEST_KUBECFG`` or the stand-in
  (:func:`kubecfg_binary`).

Every process is stopped after its test; its output is kept in the test's tmp_path and shown
when it fails to start.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kshell.sandbox import free_port

STANDINS = Path(__file__).parent / "standins"
MINIONS = ("127.0.0.1", "10.0.0.5")

REAL_KUBECFG = os.environ.get("KSHELL_TEST_KUBECFG") or ""
_wrapper: list[str] = []


def kubecfg_binary() -> str:
    """The kubecfg kshell runs: the real one, or the stand-in under this interpreter.

    The stand-in's ``#!/usr/bin/env python3`` may find a slow version-manager shim first
    (hundreds of ms a run); a two-line wrapper runs it with the suite's own Python.
    """
    if REAL_KUBECFG:
        return REAL_KUBECFG
    if not _wrapper:
        import atexit
        import shutil
        import tempfile

        d = tempfile.mkdtemp(prefix="kshell-kubecfg-")
        atexit.register(shutil.rmtree, d, True)
        path = Path(d) / "kubecfg"
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDINS / "kubecfg"}" "$@"\n')
        path.chmod(0o755)
        _wrapper.append(str(path))
    return _wrapper[0]


REAL_APISERVER = os.environ.get("KSHELL_TEST_APISERVER") or ""
REAL_SCHEDULER = os.environ.get("KSHELL_TEST_SCHEDULER") or ""


def _controller_manager_binary() -> str:
    explicit = os.environ.get("KSHELL_TEST_CONTROLLER_MANAGER")
    if explicit:
        return explicit
    # Only beside a real apiserver: with the stand-ins there is no controller-manager.
    if REAL_APISERVER:
        beside = Path(REAL_APISERVER).with_name("controller-manager")
        if beside.exists():
            return str(beside)
    return ""


class Process:
    """A server process whose output goes to a log file; ``stop()`` ends it for good."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def wait_http(self, url: str, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"{what} did not answer {url}: {' '.join(self.argv)}\n{self.output()[-2000:]}")

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()


class ApiServer:
    """A running API server and small REST helpers (the v1beta1 JSON, as kubecfg sends it)."""

    def __init__(self, url: str, process: Process, real: bool) -> None:
        self.url = url
        self.process = process
        self.real = real
        self.hostport = url.split("://", 1)[1]

    # -- REST ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """One REST call; writes ask for ``sync=true``: without it the real v0.3 server waits
        only ~25 ms for its operation and, on a loaded machine, answers 202 ``working``."""
        data = json.dumps(body).encode() if body is not None else None
        if method != "GET":
            path += ("&" if "?" in path else "?") + "sync=true&timeout=30s"
        req = urllib.request.Request(f"{self.url}/api/v1beta1/{path}", data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"raw": raw.decode(errors="replace")}

    def _ok(self, method: str, path: str, body: dict | None = None) -> dict:
        code, answer = self.request(method, path, body)
        assert code == 200, f"{method} {path}: {code} {answer}"
        return answer

    def list(self, resource: str, labels: str = "") -> list[dict]:
        return self._ok("GET", f"{resource}?labels={urllib.parse.quote(labels)}").get("items") or []

    def ids(self, resource: str) -> list[str]:
        return sorted(item["id"] for item in self.list(resource))

    def get(self, resource: str, ident: str) -> dict:
        return self._ok("GET", f"{resource}/{ident}")

    def delete(self, resource: str, ident: str) -> dict:
        return self._ok("DELETE", f"{resource}/{ident}")

    def create(self, resource: str, obj: dict) -> dict:
        return self._ok("POST", resource, obj)

    def create_pod(
        self, ident: str, image: str = "busybox", labels: dict | None = None, host_port: int = 0
    ) -> dict:
        return self.create("pods", pod(ident, image, labels, host_port))

    def create_rc(
        self, ident: str, replicas: int = 2, image: str = "nginx", selector: dict | None = None
    ) -> dict:
        return self.create("replicationControllers", controller(ident, replicas, image, selector))

    def create_service(
        self, ident: str, port: int = 8000, selector: dict | None = None, labels: dict | None = None
    ) -> dict:
        return self.create("services", service(ident, port, selector, labels))

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition"):
        """Poll ``predicate()`` until it returns something true; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.1)

    def pod_host(self, ident: str) -> str:
        return (self.get("pods", ident).get("currentState") or {}).get("host") or ""


def pod(ident: str, image: str = "busybox", labels: dict | None = None, host_port: int = 0) -> dict:
    """The minimal v1beta1 pod that v0.3 accepts (tools-2014.md §4.6)."""
    container: dict = {"name": ident.split("-")[0] or "c", "image": image}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port}]
    return {
        "id": ident,
        "kind": "Pod",
        "apiVersion": "v1beta1",
        "desiredState": {
            "manifest": {"version": "v1beta1", "id": ident, "containers": [container]}
        },
        "labels": labels if labels is not None else {"name": ident},
    }


def controller(
    ident: str, replicas: int = 2, image: str = "nginx", selector: dict | None = None
) -> dict:
    selector = selector or {"name": ident}
    return {
        "id": ident,
        "kind": "ReplicationController",
        "apiVersion": "v1beta1",
        "desiredState": {
            "replicas": replicas,
            "replicaSelector": selector,
            "podTemplate": {
                "desiredState": {"manifest": {
                    "version": "v1beta1", "id": ident,
                    "containers": [{"name": ident, "image": image}],
                }},
                "labels": selector,
            },
        },
        "labels": selector,
    }  # fmt: skip


def service(
    ident: str, port: int = 8000, selector: dict | None = None, labels: dict | None = None
) -> dict:
    return {
        "id": ident,
        "kind": "Service",
        "apiVersion": "v1beta1",
        "port": port,
        "labels": labels if labels is not None else {"name": ident},
        "selector": selector or {"name": ident},
    }


@pytest.fixture
def apiserver(etcd, tmp_path):
    port = free_port()
    argv = [REAL_APISERVER] if REAL_APISERVER else [sys.executable, str(STANDINS / "apiserver")]
    argv += [
        f"-etcd_servers={etcd.url}", "-address=127.0.0.1", f"-port={port}",
        f"-machines={','.join(MINIONS)}", "-health_check_minions=false",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = Process(argv, tmp_path / "apiserver.log")
    process.wait_http(f"{url}/healthz", "the API server")
    server = ApiServer(url, process, real=bool(REAL_APISERVER))
    yield server
    process.stop()


@pytest.fixture
def scheduler(apiserver, tmp_path):
    port = free_port()
    argv = [REAL_SCHEDULER] if REAL_SCHEDULER else [sys.executable, str(STANDINS / "scheduler")]
    argv += [f"-master={apiserver.hostport}", f"-port={port}"]
    process = Process(argv, tmp_path / "scheduler.log")
    process.wait_http(f"http://127.0.0.1:{port}/healthz", "the scheduler")
    yield process
    process.stop()


@pytest.fixture
def controller_manager(apiserver, tmp_path):
    binary = _controller_manager_binary()
    if not binary:
        pytest.skip(
            "no controller-manager: only the real v0.3 one runs "
            "(KSHELL_TEST_CONTROLLER_MANAGER or beside KSHELL_TEST_APISERVER)"
        )
    port = free_port()
    argv = [binary, f"-master={apiserver.hostport}", f"-port={port}"]
    process = Process(argv, tmp_path / "controller-manager.log")
    time.sleep(0.3)  # v0.3's controller-manager serves no /healthz to wait on
    if process.proc.poll() is not None:
        pytest.fail(f"controller-manager exited: {process.output()[-2000:]}")
    yield process
    process.stop()


class KubeShell:
    """A kshell session (StringIO streams) with the kube plugin pointed at a server."""

    def __init__(self, home: Path, settings: dict[str, str], dry_run: bool = False) -> None:
        import yaml

        from kshell.session import open_session

        cfg = home / "config" / "config.yaml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(
            yaml.safe_dump(
                {"contexts": {"default": settings}, "binaries": {"kubecfg": kubecfg_binary()}}
            )
        )
        self.out, self.err = io.StringIO(), io.StringIO()
        self.session = open_session(out=self.out, err=self.err, dry_run=dry_run)

    def run(self, line: str) -> tuple[int, str, str]:
        from kshell.dispatch import execute

        for stream in (self.out, self.err):
            stream.seek(0)
            stream.truncate()
        status = execute(self.session, line)
        return status, self.out.getvalue(), self.err.getvalue()


@pytest.fixture
def kube_shell(apiserver, home):
    return KubeShell(home, {"kube.master": apiserver.url})
