"""kshell.Etcd (etcd's keys over the v2 HTTP API for plugins) and the "not etcd" rule,
against a real etcd and real loopback HTTP servers that are not etcd."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kshell import (
    CompareFailed,
    DryRunStop,
    Etcd,
    EtcdError,
    EtcdUnreachable,
    KeyExists,
    NotEtcd,
)
from kshell.dispatch import execute
from kshell.sandbox import free_port
from kshell.session import open_session


class NotEtcdServer:
    """A real HTTP server on loopback that answers every request, but is no etcd."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        answer = (status, body, content_type)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                code, data, kind = answer
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


PROXY_404 = (404, b"<html><body><h1>404 Not Found</h1>nginx</body></html>", "text/html")
WEB_SERVER = (200, b"<html>It works!</html>", "text/html")
JSON_API = (200, b'{"status": "ok", "version": "1.0"}', "application/json")


@pytest.fixture(params=[PROXY_404, WEB_SERVER, JSON_API], ids=["proxy-404", "web", "json"])
def not_etcd(request):
    server = NotEtcdServer(*request.param)
    yield server
    server.stop()


def session_at(endpoint: str, plugins: str = "etcd", **kw):
    out, err = io.StringIO(), io.StringIO()
    session = open_session(plugins=plugins, out=out, err=err, **kw)
    if "etcd.endpoint" in session.host.settings:
        assert execute(session, f"context set etcd.endpoint {endpoint}") == 0
    else:
        session.update_config(
            lambda raw: (
                raw.setdefault("contexts", {})
                .setdefault("default", {})
                .update({"etcd.endpoint": endpoint})
            )
        )
    out.seek(0), out.truncate()
    return session, out, err


# -- the client ------------------------------------------------------------------------------


def test_read_write_list_and_remove_keys(home, etcd):
    session, out, err = session_at(etcd.url)
    store = session.etcd()
    assert store.get("/app/missing") is None
    store.set("/app/a", "1")
    store.mk("/app/dir/b", "two", ttl=60)
    assert store.get("/app/a") == "1"
    with pytest.raises(KeyExists, match="/app/a already exists"):
        store.mk("/app/a", "again")
    store.swap("/app/a", "1", "3")
    with pytest.raises(CompareFailed, match="changed meanwhile"):
        store.swap("/app/a", "1", "4")
    assert store.get("/app/a") == "3"
    assert [(n.name, n.dir) for n in store.ls("/app")] == [("a", False), ("dir", True)]
    leaves = store.leaves("/app")
    assert [(n.key, n.value) for n in leaves] == [("/app/a", "3"), ("/app/dir/b", "two")]
    assert leaves[0].ttl is None and 55 <= leaves[1].ttl <= 60
    assert store.ls("/nothing") == [] and store.leaves("/nothing") == []
    with pytest.raises(EtcdError, match="^/app/dir is a directory, not a value$"):
        store.get("/app/dir")
    assert store.delete("/app", recursive=True) is True
    assert store.delete("/app") is False
    assert store.get("/app/a") is None
    assert store.answered == etcd.url
    assert store.version()


def test_values_are_sent_as_they_are(home, etcd):
    store = Etcd(etcd.url)
    for value in ("-starts-with-dash", "a b\nc", '{"Network":"10.0.0.0/16"}', "ünï", ""):
        store.set("/v", value)
        assert store.get("/v") == value


def test_unreachable_is_one_line(home):
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EtcdUnreachable) as caught:
        Etcd(dead, timeout=2).get("/k")
    assert str(caught.value) == (
        f"cannot read /k: etcd at {dead} is unreachable (connection refused); "
        "check the context's etcd.endpoint"
    )


def test_the_next_endpoint_is_tried(home, etcd):
    dead = f"http://127.0.0.1:{free_port()}"
    store = Etcd(f"{dead},{etcd.url}")
    store.set("/k", "v")
    assert store.get("/k") == "v" and store.answered == etcd.url


def test_dry_run_prints_writes_masks_secrets_and_contacts_nothing(home, etcd):
    session, out, err = session_at(etcd.url, dry_run=True)
    store = session.etcd()
    store.set("/k", "v")
    store.mk("/k2", "v2")
    store.delete("/k3", recursive=True)
    assert out.getvalue().splitlines()[-3:] == [
        "+ etcd set /k v",
        "+ etcd mk /k2 v2",
        "+ etcd rm -r /k3",
    ]
    with pytest.raises(DryRunStop):  # a read says what it would ask and ends the handler
        store.get("/k")
    shown = out.getvalue().splitlines()[-1]
    assert shown == f"+ GET {etcd.url}/v2/keys/k?recursive=false&sorted=true"
    assert Etcd(etcd.url).get("/k") is None


# -- "not etcd", everywhere -------------------------------------------------------------------


def test_a_server_that_is_not_etcd_is_never_taken_for_one(home, not_etcd):
    store = Etcd(not_etcd.url, timeout=2)
    with pytest.raises(NotEtcd, match=f"{not_etcd.url} answers HTTP .* but is not etcd"):
        store.get("/coreos.com/network/config")
    with pytest.raises(NotEtcd):
        store.ls("/")
    with pytest.raises(NotEtcd):
        store.set("/k", "v")
    with pytest.raises(NotEtcd, match=f"{not_etcd.url} is not etcd: it answers HTTP"):
        store.version()


def test_etcd_health_status_and_doctor_say_not_etcd(home, not_etcd):
    session, out, err = session_at(not_etcd.url)
    assert execute(session, "etcd health") == 1
    assert err.getvalue().startswith(f"etcd health: {not_etcd.url} is not etcd: it answers HTTP")
    assert out.getvalue() == ""
    assert execute(session, "status") == 0
    assert f"etcd: {not_etcd.url}: not etcd (it answers HTTP" in out.getvalue()
    assert "up" not in out.getvalue()
    err.seek(0), err.truncate()
    assert execute(session, "etcd tree") == 1
    assert err.getvalue().startswith(f"etcd tree: {not_etcd.url} is not etcd: it answers HTTP")
    out.seek(0), out.truncate()
    assert execute(session, "doctor") == 1
    assert f"[FAIL] etcd: reachable: {not_etcd.url} is not etcd" in out.getvalue()
    assert "fix: context set etcd.endpoint URL" in out.getvalue()


def test_rudder_and_fleet_checks_say_not_etcd(home, not_etcd):
    session, out, err = session_at(not_etcd.url, plugins="etcd,rudder,fleet")
    assert execute(session, f"context set fleet.endpoint {not_etcd.url}") == 0
    out.seek(0), out.truncate()
    assert execute(session, "doctor") == 1
    text = out.getvalue()
    assert (
        f"[FAIL] rudder: network config: cannot read /coreos.com/network/config: {not_etcd.url}"
        in text
    )
    assert f"[FAIL] fleet: etcd: {not_etcd.url} is not etcd" in text
    assert "[ok  ]" not in text.replace("[ok  ] etcd: version", "")
    lines = text.splitlines()
    for n, line in enumerate(lines):  # every finding that is not ok says what to run
        if line.startswith(("[WARN]", "[FAIL]")):
            assert lines[n + 1].startswith("       fix: "), line
    out.seek(0), out.truncate()
    assert execute(session, "rudder config") == 1
    assert "is not etcd" in err.getvalue()


def test_probe_http_is_the_rule_for_any_service(home, not_etcd, etcd):
    from kshell import Probe, probe_http

    def identify(status, body):
        return "mine" if status == 200 and body.startswith("MINE") else None

    got = probe_http(not_etcd.url, "/healthz", identify, timeout=2)
    assert isinstance(got, Probe) and got.state == "wrong" and not got.ok
    assert got.detail.startswith("HTTP ") and "to /healthz" in got.detail
    assert probe_http(etcd.url, "/version", Etcd.identify).ok
    dead = probe_http(f"http://127.0.0.1:{free_port()}", "/", identify)
    assert (dead.state, dead.detail) == ("unreachable", "connection refused")


def test_etcd_without_the_v2_api_is_told_apart_from_not_etcd(home, tmp_path):
    """etcd 3.x started without --enable-v2 answers /v2/keys with a plain 404."""
    import os
    import subprocess
    import time
    import urllib.request

    from kshell.sandbox import find_etcd

    binary = os.environ.get("KSHELL_TEST_ETCD") or find_etcd()
    if (
        subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.find(
            "etcd Version: 3."
        )
        < 0
    ):
        pytest.skip("only etcd 3.x can run without the v2 API")
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [binary, "--data-dir", str(tmp_path / "data"), "--listen-client-urls", client,
         "--advertise-client-urls", client, "--listen-peer-urls", peer,
         "--initial-advertise-peer-urls", peer, "--initial-cluster", f"default={peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{client}/version", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        with pytest.raises(EtcdError) as caught:
            Etcd(client).get("/k")
        assert not isinstance(caught.value, NotEtcd)
        assert "does not serve the v2 API; start it with --enable-v2=true" in str(caught.value)
    finally:
        proc.terminate()
        proc.wait(10)


def test_loopback_never_goes_through_a_proxy_of_any_variable(home, etcd, monkeypatch):
    # A proxy on a closed port: a request that went through it would fail.
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    Etcd(etcd.url).set("/proxied", "no")
    assert Etcd(etcd.url).get("/proxied") == "no"
