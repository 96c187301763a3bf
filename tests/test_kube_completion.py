"""Completion for the kube commands, through the shell's completer (no terminal).

IDs come from the API server's REST API through the session cache: the cached answer at
once, a refresh in the background. Runs against the stand-in or the real v0.3 apiserver.
"""

from __future__ import annotations

import time

import pytest
from kubefixtures import KubeShell

from kshell.completion import complete
from kshell.sandbox import free_port


def texts(session, line: str) -> list[str]:
    return [s.text for s in complete(session, line)]


def settled(session, line: str, expected: list[str] | None = None) -> list[str]:
    """Like Tab pressed again once any background fill has landed; with ``expected``, again
    until it shows up (a fill that timed out on a loaded machine is retried after a rest)."""
    deadline = time.monotonic() + 8
    while True:
        while session.cache._inflight and time.monotonic() < deadline:
            time.sleep(0.01)
        found = texts(session, line)
        if expected is None or found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture
def session(kube_shell):
    return kube_shell.session


def test_subcommands_and_flags(session):
    words = texts(session, "kube ")
    for name in ("pods", "minions", "services", "rcs", "get", "create", "update", "delete",
                 "run", "resize", "stop", "rm", "rollingupdate"):  # fmt: skip
        assert name in words
    assert {"-l", "--selector", "--json"} <= set(texts(session, "kube pods -"))
    assert {"-u", "--period", "--image"} <= set(texts(session, "kube rollingupdate web -"))
    assert {"-p", "--ports", "-s", "--service"} <= set(texts(session, "kube run -"))


def test_kinds_complete_as_typed(session):
    assert sorted(texts(session, "kube get po")) == ["po/", "pod/", "pods/"]
    assert sorted(texts(session, "kube get /mi")) == ["/mi/", "/minion/", "/minions/"]
    assert "replicationControllers/" in texts(session, "kube delete r")
    assert "rc/" in texts(session, "kube delete r")
    assert sorted(texts(session, "kube create -c pod.json s")) == ["service", "services", "svc"]


def test_ids_come_from_the_api_through_the_cache(session, apiserver):
    apiserver.create_pod("hello-pod")
    apiserver.create_rc("web")
    apiserver.create_service("hello")
    assert settled(session, "kube get pods/", ["pods/hello-pod"]) == ["pods/hello-pod"]
    assert settled(session, "kube get po/he", ["po/hello-pod"]) == ["po/hello-pod"]
    assert settled(session, "kube delete rc/", ["rc/web"]) == ["rc/web"]
    assert settled(session, "kube get svc/", ["svc/hello"]) == ["svc/hello"]
    minions = ["minions/10.0.0.5", "minions/127.0.0.1"]
    assert settled(session, "kube get minions/", minions) == minions
    assert settled(session, "kube resize ", ["web"]) == ["web"]
    assert settled(session, "kube stop w", ["web"]) == ["web"]
    metas = {s.text: s.meta for s in complete(session, "kube get pods/")}
    assert metas["pods/hello-pod"].startswith("pod Waiting")

    # a new pod: the next keystroke still answers from the cache, at once ...
    apiserver.create_pod("second-pod")
    before = time.monotonic()
    assert texts(session, "kube get pods/") == ["pods/hello-pod"]
    assert time.monotonic() - before < 0.5
    # ... and once the entry is stale, a background refresh brings the new one
    session.invalidate("kube:")
    texts(session, "kube get pods/")
    both = ["pods/hello-pod", "pods/second-pod"]
    assert settled(session, "kube get pods/", both) == both


def test_ids_of_a_loopback_master_never_go_through_a_proxy(session, apiserver, monkeypatch):
    # The tunnel's end is on loopback: a proxy from the environment must not see it.
    dead = f"http://127.0.0.1:{free_port()}"
    for var in ("http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("http_proxy", dead)
    monkeypatch.setenv("HTTP_PROXY", dead)
    apiserver.create_pod("hello-pod")
    assert settled(session, "kube get pods/", ["pods/hello-pod"]) == ["pods/hello-pod"]


def test_an_unreachable_master_completes_nothing_and_quickly(home):
    sh = KubeShell(home, {"kube.master": f"http://127.0.0.1:{free_port()}"})
    before = time.monotonic()
    assert texts(sh.session, "kube get pods/") == []
    assert settled(sh.session, "kube get pods/") == []
    assert time.monotonic() - before < 3
    assert sorted(texts(sh.session, "kube get po")) == ["po/", "pod/", "pods/"]  # kinds still do


def test_files_for_c(session, tmp_path, monkeypatch):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pod.json").write_text("{}")
    (tmp_path / "rc.yaml").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "svc.yml").write_text("{}")
    assert sorted(texts(session, "kube create -c ")) == ["objects/", "pod.json", "rc.yaml"]
    assert texts(session, "kube update -c objects/") == ["objects/svc.yml"]
    assert texts(session, "kube create --file p") == ["pod.json"]


def test_read_only_commands_are_marked(session):
    commands = session.host.commands
    for words, read_only in (
        (("kube", "pods"), True), (("kube", "minions"), True), (("kube", "services"), True),
        (("kube", "rcs"), True), (("kube", "get"), True), (("kube", "create"), False),
        (("kube", "update"), False), (("kube", "delete"), False), (("kube", "run"), False),
        (("kube", "resize"), False), (("kube", "stop"), False), (("kube", "rm"), False),
        (("kube", "rollingupdate"), False),
    ):  # fmt: skip
        entry, _ = commands.match(list(words))
        assert entry.command.read_only is read_only, words
