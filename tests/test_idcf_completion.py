"""Completion of idcf names from the API, through the session's cache, never waiting on it."""

from __future__ import annotations

import time

import pytest
from cloudstackfake import CloudStackFake
from idcfshell import Shell, isolate, write_idcfrc

from kshell.completion import complete

CORE_OS = "CoreOS stable 444.5.0"


@pytest.fixture
def fake():
    server = CloudStackFake().start()
    yield server
    server.gate.set()
    server.stop()


@pytest.fixture
def shell(monkeypatch, tmp_path, fake):
    home = isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("KSHELL_IDCF_POLL_INTERVAL", "0")
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    write_idcfrc(home, fake.url)
    return Shell()


def settle(session) -> None:
    deadline = time.monotonic() + 10
    while session.cache._inflight and time.monotonic() < deadline:
        time.sleep(0.01)


def offered(session, text: str) -> dict[str, str]:
    """Like Tab pressed again once the background fill has landed."""
    found = complete(session, text)
    if not found:
        settle(session)
        found = complete(session, text)
    return {s.display: s.meta for s in found}


def test_vms_zones_offerings_and_keypairs_complete_from_the_api(fake, shell):
    shell.ok(f"idcf deploy node1 --template '{CORE_OS}' --offering light.S1 --zone tesla")
    s = shell.session
    assert offered(s, "idcf stop ") == {"node1": "tesla, Running"}
    assert offered(s, "idcf deploy x --zone ") == {"tesla": "zone", "augusta": "zone"}
    assert offered(s, "idcf deploy x --zone au") == {"augusta": "zone"}
    assert set(offered(s, "idcf deploy x --offering ")) == {
        "light.S1", "standard.S4", "highcpu.M4", "highmem.L128"
    }
    assert set(offered(s, "idcf deploy x --disk-offering ")) == {"Custom", "100GB", "500GB"}
    assert offered(s, "idcf deploy x --keypair ") == {}


def test_a_shared_name_offers_the_ids_described(fake, shell):
    found = offered(shell.session, "idcf deploy x --template ")
    ids = {t["id"]: t["zonename"] for t in fake.templates if t["name"] == CORE_OS}
    assert {k: v for k, v in found.items() if k in ids} == {
        i: f"{CORE_OS} {zone}" for i, zone in ids.items()
    }
    assert "CentOS 6.5 64-bit" in found


def test_a_keystroke_never_waits_for_the_api(fake, shell):
    fake.gate.clear()  # the API answers nothing until the gate opens
    s = shell.session
    assert complete(s, "idcf stop ") == []  # answered without the API
    assert complete(s, "idcf stop ") == []
    fake.gate.set()
    assert offered(s, "idcf stop ") == {}
    assert fake.commands_seen().count("listVirtualMachines") == 1  # one fill, not one per key


def test_a_change_made_through_kshell_refreshes_the_candidates(fake, shell):
    s = shell.session
    assert offered(s, "idcf start ") == {}
    shell.ok(f"idcf deploy web --template '{CORE_OS}' --offering light.S1 --zone augusta")
    assert complete(s, "idcf start ") == []  # the stale answer at once, refreshed behind it
    assert offered(s, "idcf start ") == {"web": "augusta, Running"}
    shell.ok("idcf stop web")
    assert offered(s, "idcf start ") == {"web": "augusta, Running"}  # stale, at once
    settle(s)
    assert offered(s, "idcf start ") == {"web": "augusta, Stopped"}


def test_an_unreachable_api_completes_nothing_and_raises_nothing(fake, shell):
    fake.stop()
    assert offered(shell.session, "idcf stop ") == {}
