"""etcd key completion from the v2 HTTP API of a real etcd, through the session's cache."""

from __future__ import annotations

import io
import time
import urllib.parse
import urllib.request

import pytest
from conftest import keeps_etcd_dir, real_etcdctl
from kshell_plugins.etcd.complete import complete_key

from kshell import Candidate
from kshell.dispatch import execute
from kshell.sandbox import free_port
from kshell.session import open_session


def put(url: str, key: str, value: str | None = None, **params: str) -> None:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    data = urllib.parse.urlencode({"value": value} if value is not None else {}).encode()
    req = urllib.request.Request(f"{url}/v2/keys{key}{query}", data=data, method="PUT")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    urllib.request.urlopen(req, timeout=5).read()


def session_for(endpoint: str):
    session = open_session(plugins="etcd", out=io.StringIO(), err=io.StringIO())
    assert execute(session, f"context set etcd.endpoint {endpoint}") == 0
    return session


def complete(session, prefix: str) -> list[Candidate]:
    """Like Tab pressed again once the background fill has landed (if the first was empty)."""
    found = list(complete_key(session, prefix))
    if not found:
        deadline = time.monotonic() + 5
        while session.cache._inflight and time.monotonic() < deadline:
            time.sleep(0.01)
        found = list(complete_key(session, prefix))
    return found


@pytest.fixture
def keys(home, etcd):
    url = etcd.url
    put(url, "/coreos.com/network/config", '{"Network":"10.0.0.0/16"}')
    put(url, "/coreos.com/network/subnets", dir="true")
    put(url, "/coreos.com/zeta", "z")
    put(url, "/apple", "a" * 80)
    put(url, "/app/inner", "i")
    put(url, "/registry/minions/10.1.0.207", "{}")
    put(url, "/_coreos.com/fleet/job/hello.service/target-state", "launched")
    put(url, "/visible/_hidden", "h")
    return session_for(url)


def test_root_lists_directories_first_then_keys(keys):
    found = complete(keys, "/")
    assert [c.text for c in found] == ["/app/", "/coreos.com/", "/registry/", "/visible/", "/apple"]
    assert [c.meta for c in found[:4]] == ["dir"] * 4
    assert found[4].meta == "a" * 39 + "…"
    assert [c.text for c in complete(keys, "")] == [c.text for c in found]


def test_prefix_filters_the_last_segment(keys):
    assert complete(keys, "/a") == [Candidate("/app/", "dir"), Candidate("/apple", "a" * 39 + "…")]
    assert [c.text for c in complete(keys, "/co")] == ["/coreos.com/"]
    assert complete(keys, "/zz") == []


def test_nested_paths(keys):
    assert complete(keys, "/coreos.com/") == [
        Candidate("/coreos.com/network/", "dir"),
        Candidate("/coreos.com/zeta", "z"),
    ]
    assert complete(keys, "/coreos.com/network/") == [
        Candidate("/coreos.com/network/subnets/", "dir"),
        Candidate("/coreos.com/network/config", '{"Network":"10.0.0.0/16"}'),
    ]
    assert complete(keys, "/coreos.com/network/c") == [
        Candidate("/coreos.com/network/config", '{"Network":"10.0.0.0/16"}')
    ]
    assert [c.text for c in complete(keys, "/registry/minions/")] == [
        "/registry/minions/10.1.0.207"
    ]
    # etcdctl takes keys without the leading slash too; the typed form is kept.
    assert [c.text for c in complete(keys, "coreos.com/n")] == ["coreos.com/network/"]
    assert complete(keys, "/no/such/dir/") == []
    assert complete(keys, "/apple/") == []  # a key, not a directory


def test_hidden_keys_only_after_an_underscore(keys):
    assert all("_" not in c.text for c in complete(keys, "/"))
    etcd_dir = (
        [Candidate("/_etcd/", "dir")] if keeps_etcd_dir(keys.context.get("etcd.endpoint")) else []
    )
    assert complete(keys, "/_") == [Candidate("/_coreos.com/", "dir"), *etcd_dir]  # 0.4.6: §3.1
    assert complete(keys, "/_c") == [Candidate("/_coreos.com/", "dir")]
    assert [c.text for c in complete(keys, "/_coreos.com/fleet/job/")] == [
        "/_coreos.com/fleet/job/hello.service/"
    ]
    assert [c.text for c in complete(keys, "/_coreos.com/fleet/job/hello.service/")] == [
        "/_coreos.com/fleet/job/hello.service/target-state"
    ]
    assert complete(keys, "/visible/") == []  # etcd lists no hidden key


def test_the_cache_answers_at_once_and_refreshes_in_the_background(keys, etcd):
    first = complete(keys, "/coreos.com/")
    put(etcd.url, "/coreos.com/added", "new")
    started = time.perf_counter()
    second = list(complete_key(keys, "/coreos.com/"))
    assert time.perf_counter() - started < 0.05
    assert second == first  # fresh within the 5 s TTL: served from the cache
    keys.invalidate()  # what a command that changes etcd does
    stale = list(complete_key(keys, "/coreos.com/"))
    assert stale == first  # stale is served at once; the refresh runs in the background
    deadline = time.monotonic() + 5
    while Candidate("/coreos.com/added", "new") not in complete_key(keys, "/coreos.com/"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_change_made_through_kshell_shows_up(keys):
    path = real_etcdctl()
    keys.update_config(lambda raw: raw.setdefault("binaries", {}).__setitem__("etcdctl", path))
    assert [c.text for c in complete(keys, "/app/")] == ["/app/inner"]
    assert execute(keys, "etcd mkdir /app/sub") == 0  # marks the cache stale
    deadline = time.monotonic() + 5
    while Candidate("/app/sub/", "dir") not in complete_key(keys, "/app/"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_unreachable_or_invalid_endpoint_never_blocks(home):
    session = session_for(f"http://127.0.0.1:{free_port()}")
    for _ in range(3):
        started = time.perf_counter()
        assert list(complete_key(session, "/co")) == []
        assert time.perf_counter() - started < 0.3
    session.update_config(
        lambda raw: raw["contexts"]["default"].__setitem__("etcd.endpoint", "ftp://nope")
    )
    assert list(complete_key(session, "/")) == []


def test_completers_are_registered_for_every_key_argument(home):
    session = session_for("http://127.0.0.1:4001")
    table = session.host.commands
    for name in ("ls", "get", "set", "mk", "mkdir", "rm", "rmdir", "update", "setdir",
                 "watch", "tree"):  # fmt: skip
        entry = table.get(f"etcd {name}")
        assert entry is not None, name
        assert entry.command.completers["key"] is complete_key
