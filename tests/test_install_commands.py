"""The `bin …` commands, on a small fake session and once through the real core."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
from types import SimpleNamespace

import pytest
from httpfixture import REPORTS, publish, release_archive, script
from kshell_plugins.etcd.tools import ETCDCTL
from kshell_plugins.fleet.tools import FLEETCTL
from kshell_plugins.kube.tools import KUBECFG

from kshell import CommandError
from kshell import bin_commands as bc
from kshell.install import lock_path

TOOLS = (FLEETCTL, ETCDCTL, KUBECFG)


class FakeSession:
    """Exactly what the bin handlers use of the core session."""

    def __init__(self) -> None:
        self.host = SimpleNamespace(tools={t.name: t for t in TOOLS})
        self.raw: dict = {}
        self.config = SimpleNamespace(binaries={}, mirror=None)
        self.interactive = False
        self.out: list[str] = []
        self.err: list[str] = []

    def update_config(self, fn) -> None:
        fn(self.raw)
        self.config = SimpleNamespace(
            binaries=dict(self.raw.get("binaries") or {}), mirror=self.raw.get("mirror")
        )

    def echo(self, text: str = "") -> None:
        self.out.extend(text.splitlines() or [""])

    def warn(self, text: str) -> None:
        self.err.append(text)


COMMANDS = {c.name: c for c in bc.COMMANDS}


def run(session: FakeSession, line: str) -> int:
    words = line.split()
    name = " ".join(words[:2])
    command = COMMANDS[name]
    parser = argparse.ArgumentParser(prog=name)
    if command.arguments:
        command.arguments(parser)
    status = command.handler(session, parser.parse_args(words[2:]))
    return 0 if status is None else status


@pytest.fixture
def server(release_server):
    return release_server


@pytest.fixture
def session(home, server):
    for tool in TOOLS:
        for platform in tool.releases:
            publish(server, tool, platform)
    s = FakeSession()
    s.server = server
    s.home = home
    return s


def bin_path(home, name, version):
    return home / "cache" / "bin" / f"{name}-{version}-linux-amd64" / name


def test_hook_registers_the_bin_commands():
    registered = []
    bc.kshell_commands(registered.append)
    assert sorted(c.name for c in registered) == [
        "bin forget",
        "bin install",
        "bin list",
        "bin path",
        "bin remove",
        "bin use",
        "bin verify",
    ]
    assert {c.name for c in registered if c.read_only} == {"bin list", "bin path", "bin verify"}


def test_completers_offer_tool_names(session):
    assert COMMANDS["bin install"].completers["names"](session, "") == [
        "etcdctl",
        "fleetctl",
        "kubecfg",
    ]
    assert COMMANDS["bin path"].completers["name"](session, "f") == ["fleetctl"]


def test_install_all_then_list(session):
    assert run(session, "bin install") == 0
    assert session.server.count() == 3
    for tool in TOOLS:
        assert any(
            line.startswith(f"{tool.name} {tool.version}: installed ") for line in session.out
        )
    trust = [line for line in session.err if "trust on first use: recorded sha256" in line]
    assert len(trust) == 3
    session.out.clear()
    assert run(session, "bin list") == 0
    header, *rows = session.out
    assert header.split() == ["NAME", "PIN", "INSTALLED", "PATH", "SHA256", "VERIFIED", "REPORTS"]
    assert [r.split()[0] for r in rows] == ["etcdctl", "fleetctl", "kubecfg"]
    fleet = next(r for r in rows if r.startswith("fleetctl"))
    assert "yes" in fleet and "trust on first use" in fleet
    assert str(bin_path(session.home, "fleetctl", "0.8.1")) in fleet
    assert fleet.rstrip().endswith("0.8.1")  # what the binary itself reports


def test_list_json(session):
    run(session, "bin install fleetctl")
    session.out.clear()
    run(session, "bin list --json")
    data = {d["name"]: d for d in json.loads("\n".join(session.out))}
    fleet = data["fleetctl"]
    archive = session.server.files[
        "/coreos/fleet/releases/download/v0.8.1/fleet-v0.8.1-linux-amd64.tar.gz"
    ]
    assert fleet["installed"] is True
    assert fleet["pin"] == "0.8.1"
    assert fleet["archive_sha256"] == hashlib.sha256(archive).hexdigest()
    assert fleet["verified"] == "trust on first use"
    assert fleet["reports"] == "0.8.1"
    assert fleet["path"] == str(bin_path(session.home, "fleetctl", "0.8.1"))
    assert data["etcdctl"]["installed"] is False and data["etcdctl"]["path"] is None


def test_install_named_twice_downloads_once(session):
    run(session, "bin install etcdctl")
    run(session, "bin install etcdctl")
    assert session.server.count() == 1
    assert session.out[-1].startswith("etcdctl 0.4.6: already installed at ")


def test_verify_path_remove_keep_digest_forget(session):
    run(session, "bin install fleetctl")
    path = bin_path(session.home, "fleetctl", "0.8.1")
    assert run(session, "bin verify fleetctl") == 0
    assert session.out[-1].startswith("fleetctl: ok, binary sha256 ")
    session.out.clear()
    assert run(session, "bin path fleetctl") == 0
    assert session.out == [str(path)]

    # Tampered: verify fails naming both digests.
    original = path.read_bytes()
    path.write_bytes(b"#!/bin/sh\necho evil\n")
    assert run(session, "bin verify") == 1
    [mismatch] = [e for e in session.err if "MISMATCH" in e]
    assert hashlib.sha256(original).hexdigest() in mismatch
    path.write_bytes(original)

    # Remove keeps the recorded digest: other bytes are refused afterwards.
    assert run(session, "bin remove fleetctl") == 0
    assert not path.exists()
    with pytest.raises(CommandError) as err:
        run(session, "bin path fleetctl")
    assert "is not installed: run `bin install fleetctl`" in err.value.message
    other = release_archive(FLEETCTL, "linux-amd64", extra=b"# other\n")
    publish(session.server, FLEETCTL, "linux-amd64", other)
    with pytest.raises(CommandError) as err:
        run(session, "bin install fleetctl")
    assert hashlib.sha256(other).hexdigest() in err.value.message
    assert not path.exists()

    # Forget is explicit, then the new bytes are trusted on first use (and said so).
    session.out.clear()
    assert run(session, "bin forget fleetctl") == 0
    assert any(line.startswith("fleetctl: forgot sha256 ") for line in session.out)
    session.err.clear()
    assert run(session, "bin install fleetctl") == 0
    assert any(hashlib.sha256(other).hexdigest() in e for e in session.err)
    assert path.exists()


def _own_binary(tmp_path, report):
    own = tmp_path / "own" / "fleetctl"
    own.parent.mkdir(exist_ok=True)
    own.write_bytes(script(report))
    own.chmod(0o755)
    return own


def test_use_an_own_binary(session, tmp_path):
    own = _own_binary(tmp_path, REPORTS["fleetctl"])
    assert run(session, f"bin use fleetctl {own}") == 0
    assert session.raw == {"binaries": {"fleetctl": str(own)}}
    assert session.config.binaries == {"fleetctl": str(own)}
    assert "reports 0.8.1" in session.out[-1]
    session.out.clear()
    run(session, "bin path fleetctl")
    assert session.out == [str(own)]
    session.out.clear()
    run(session, "bin list --json")
    fleet = next(d for d in json.loads("\n".join(session.out)) if d["name"] == "fleetctl")
    assert fleet["verified"] == "user-supplied path"
    assert fleet["reports"] == "0.8.1"
    assert fleet["binary_sha256"] == hashlib.sha256(own.read_bytes()).hexdigest()
    assert run(session, "bin verify fleetctl") == 0
    own.write_bytes(script("fleetctl version 0.8.1 patched"))
    assert run(session, "bin verify fleetctl") == 1
    # Remove drops the config entry, not the user's file.
    assert run(session, "bin remove fleetctl") == 0
    assert own.exists()
    assert "binaries" not in session.raw
    assert session.server.count() == 0


def test_use_refuses_another_version_unless_forced(session, tmp_path):
    own = _own_binary(tmp_path, "fleetctl version 0.9.0")
    with pytest.raises(CommandError) as err:
        run(session, f"bin use fleetctl {own}")
    assert "reports fleetctl 0.9.0" in err.value.message and "--force" in err.value.message
    assert session.raw == {}
    assert run(session, f"bin use fleetctl {own} --force") == 0
    assert session.config.binaries == {"fleetctl": str(own)}
    assert any("written for 0.8.1" in e for e in session.err)


def test_use_refuses_a_missing_file(session, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        run(session, f"bin use fleetctl {tmp_path / 'nothing'}")


def test_unknown_tool(session):
    with pytest.raises(CommandError) as err:
        run(session, "bin install nosuch")
    assert err.value.status == 2
    assert "known: etcdctl, fleetctl, kubecfg" in err.value.message


def test_platform_without_release_is_one_line(session, monkeypatch):
    monkeypatch.setenv("KSHELL_PLATFORM", "linux-arm64")
    with pytest.raises(CommandError) as err:
        run(session, "bin install fleetctl")
    assert err.value.message == (
        "fleetctl 0.8.1 was never released for linux-arm64 (releases exist for: "
        "darwin-amd64, linux-amd64); point kshell at your own binary with "
        "`bin use fleetctl PATH`"
    )
    # Installing all: one line per tool, status 1, nothing fetched.
    assert run(session, "bin install") == 1
    assert len(session.err) == 3 and all("never released for linux-arm64" in e for e in session.err)
    assert session.server.count() == 0


def test_install_failure_is_a_command_error(session):
    session.server.script(
        "/coreos/fleet/releases/download/v0.8.1/fleet-v0.8.1-linux-amd64.tar.gz", "404"
    )
    with pytest.raises(CommandError, match="HTTP 404"):
        run(session, "bin install fleetctl")
    assert not lock_path().exists()


def test_configured_mirror_from_session(session, monkeypatch):
    monkeypatch.delenv("KSHELL_MIRROR")
    session.update_config(lambda raw: raw.__setitem__("mirror", session.server.url + "/m"))
    path = "/coreos/etcd/releases/download/v0.4.6/etcd-v0.4.6-linux-amd64.tar.gz"
    session.server.add("/m" + path, session.server.files[path])
    assert run(session, "bin install etcdctl") == 0
    assert session.server.requests == ["/m" + path]


def test_through_the_core_session(session):
    """`bin install` and `bin list` dispatched by the real core (kshell.session)."""
    from kshell.dispatch import execute
    from kshell.session import open_session

    out, err = io.StringIO(), io.StringIO()
    core = open_session(out=out, err=err)
    for tool in TOOLS:  # other plugins may not be registered yet in this checkout
        core.host.tools.setdefault(tool.name, tool)
    assert execute(core, "bin install kubecfg") == 0, err.getvalue()
    assert execute(core, "bin list --json") == 0, err.getvalue()
    text = out.getvalue()
    data = json.loads(text[text.index("[") :])
    kube = next(d for d in data if d["name"] == "kubecfg")
    assert kube["installed"] and kube["reports"] == "0.3"
    assert os.access(kube["path"], os.X_OK)
