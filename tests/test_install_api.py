"""The installer's API against a real HTTP server on 127.0.0.1 (through the mirror)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from httpfixture import (
    REPORTS,
    loopback_env,
    publish,
    release_archive,
    script,
    tar_gz,
    url_path,
    zip_bytes,
)
from kshell_plugins.etcd.tools import ETCDCTL
from kshell_plugins.fleet.tools import FLEETCTL
from kshell_plugins.kube.tools import KUBECFG

from kshell.install import (
    ToolError,
    ensure_tool,
    install,
    installed_path,
    lock_path,
    remove,
    verify_installed,
)
from kshell.install import download as download_mod

TOOLS = (FLEETCTL, ETCDCTL, KUBECFG)
FLEET_PATH = "/coreos/fleet/releases/download/v0.8.1/fleet-v0.8.1-linux-amd64.tar.gz"
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server(release_server):
    return release_server


@pytest.fixture
def rig(home, server):
    """KSHELL_HOME in tmp, the mirror on the loopback server, every release published."""
    archives = {}
    for tool in TOOLS:
        for platform in tool.releases:
            archives[tool.name, platform] = publish(server, tool, platform)
    log: list[str] = []
    return SimpleNamespace(home=home, server=server, archives=archives, log=log)


def target(home: Path, name: str, version: str, platform: str = "linux-amd64") -> Path:
    return home / "cache" / "bin" / f"{name}-{version}-{platform}" / name


def lock_records() -> dict:
    path = lock_path()
    return json.loads(path.read_text())["tools"] if path.exists() else {}


def assert_nothing_installed(home: Path, name: str = "fleetctl", version: str = "0.8.1") -> None:
    bin_root = home / "cache" / "bin"
    assert not target(home, name, version).exists()
    assert not list(bin_root.glob(".tmp-*")), "temporary files left behind"


# --- fresh install, trust on first use ------------------------------------------------


def test_fresh_install_records_digest_on_first_use(rig):
    result = install(FLEETCTL, log=rig.log.append)
    path = target(rig.home, "fleetctl", "0.8.1")
    assert result.path == path
    assert os.access(path, os.X_OK)
    out = subprocess.run([path, "version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "fleetctl version 0.8.1"
    assert result.downloaded and result.newly_recorded
    assert result.verified == "trust on first use"
    assert result.reported_version == "0.8.1"
    digest = sha(rig.archives["fleetctl", "linux-amd64"])
    assert result.archive_sha256 == digest
    assert rig.server.requests == [FLEET_PATH]
    # Said plainly, once.
    [said] = [line for line in rig.log if "trust on first use" in line]
    assert f"recorded sha256 {digest}" in said
    record = lock_records()["fleetctl-0.8.1-linux-amd64"]
    assert record["archive_sha256"] == digest
    assert record["binary_sha256"] == sha(path.read_bytes())
    assert record["source"] == "tofu"
    assert installed_path(FLEETCTL) == path


def test_installed_tool_is_not_fetched_again(rig):
    install(FLEETCTL, log=rig.log.append)
    again = install(FLEETCTL, log=rig.log.append)
    assert not again.downloaded
    assert rig.server.count() == 1


def test_all_three_pins_install_from_their_real_paths(rig):
    for tool in TOOLS:
        result = install(tool, log=rig.log.append)
        assert result.path == target(rig.home, tool.name, tool.version)
    assert rig.server.requests == [
        FLEET_PATH,
        "/coreos/etcd/releases/download/v0.4.6/etcd-v0.4.6-linux-amd64.tar.gz",
        "/kubernetes/binaries.tar.gz",
    ]


def test_zip_release_installs(rig, monkeypatch):
    monkeypatch.setenv("KSHELL_PLATFORM", "darwin-amd64")
    result = install(ETCDCTL, log=rig.log.append)
    assert result.path == target(rig.home, "etcdctl", "0.4.6", "darwin-amd64")
    assert rig.server.requests == [
        "/coreos/etcd/releases/download/v0.4.6/etcd-v0.4.6-darwin-amd64.zip"
    ]
    assert result.reported_version == "0.4.6"


def test_recorded_digest_is_enforced_later(rig):
    first = install(FLEETCTL, log=rig.log.append)
    remove(FLEETCTL)
    assert installed_path(FLEETCTL) is None
    # The "same" release now has other bytes (a valid archive, same version report).
    other = release_archive(FLEETCTL, "linux-amd64", extra=b"# changed\n")
    publish(rig.server, FLEETCTL, "linux-amd64", other)
    with pytest.raises(ToolError) as err:
        install(FLEETCTL, log=rig.log.append)
    message = err.value.message
    assert sha(other) in message and first.archive_sha256 in message
    assert "\n" not in message
    assert "bin forget fleetctl" in message
    assert_nothing_installed(rig.home)
    assert lock_records()["fleetctl-0.8.1-linux-amd64"]["archive_sha256"] == first.archive_sha256
    # The recorded bytes are accepted again, without a new trust message.
    publish(rig.server, FLEETCTL, "linux-amd64", rig.archives["fleetctl", "linux-amd64"])
    rig.log.clear()
    again = install(FLEETCTL, log=rig.log.append)
    assert again.verified == "trust on first use" and not again.newly_recorded
    assert not [line for line in rig.log if "recorded sha256" in line]


def test_force_reinstall_checks_the_record_too(rig):
    install(FLEETCTL, log=rig.log.append)
    publish(
        rig.server, FLEETCTL, "linux-amd64", release_archive(FLEETCTL, "linux-amd64", extra=b"x")
    )
    with pytest.raises(ToolError, match="was recorded on first download"):
        install(FLEETCTL, force=True, log=rig.log.append)
    # The installed copy is untouched.
    assert installed_path(FLEETCTL) is not None
    assert verify_installed(FLEETCTL).status == "ok"


def _pinned(tool, platform, digest):
    releases = dict(tool.releases)
    releases[platform] = dataclasses.replace(releases[platform], sha256=digest)
    return dataclasses.replace(tool, releases=releases)


def test_known_digest_mismatch_refuses(rig):
    wrong = "0" * 64
    tool = _pinned(FLEETCTL, "linux-amd64", wrong)
    with pytest.raises(ToolError) as err:
        install(tool, log=rig.log.append)
    actual = sha(rig.archives["fleetctl", "linux-amd64"])
    assert wrong in err.value.message and actual in err.value.message
    assert_nothing_installed(rig.home)
    assert lock_records() == {}


def test_known_digest_match_is_not_trust_on_first_use(rig):
    digest = sha(rig.archives["fleetctl", "linux-amd64"])
    result = install(_pinned(FLEETCTL, "linux-amd64", digest), log=rig.log.append)
    assert result.verified == "known digest" and not result.newly_recorded
    assert not [line for line in rig.log if "trust on first use" in line]
    assert lock_records()["fleetctl-0.8.1-linux-amd64"]["source"] == "known"


def test_wrong_bytes_on_first_use_of_a_version_that_does_not_report_the_pin(rig):
    bad = release_archive(FLEETCTL, "linux-amd64", report="fleetctl version 0.9.0")
    publish(rig.server, FLEETCTL, "linux-amd64", bad)
    with pytest.raises(ToolError) as err:
        install(FLEETCTL, log=rig.log.append)
    assert "reports fleetctl 0.9.0" in err.value.message and "0.8.1" in err.value.message
    assert_nothing_installed(rig.home)
    # Nothing trusted: the digest of a refused archive is not recorded.
    assert lock_records() == {}


# --- transport faults ------------------------------------------------------------------


def test_404_is_not_retried(rig):
    rig.server.script(FLEET_PATH, "404")
    with pytest.raises(ToolError, match="HTTP 404"):
        install(FLEETCTL, log=rig.log.append)
    assert rig.server.count() == 1
    assert_nothing_installed(rig.home)


def test_500_twice_then_success(rig):
    rig.server.script(FLEET_PATH, "500", "500")
    result = install(FLEETCTL, log=rig.log.append)
    assert result.path.exists()
    assert rig.server.count() == 3
    assert len([line for line in rig.log if "HTTP 500" in line and "retry" in line]) == 2


def test_500_forever_gives_up(rig):
    rig.server.always(FLEET_PATH, "500")
    with pytest.raises(ToolError, match=f"failed after {download_mod.RETRIES} attempts"):
        install(FLEETCTL, log=rig.log.append)
    assert rig.server.count() == download_mod.RETRIES


def test_truncated_body_leaves_nothing(rig):
    rig.server.always(FLEET_PATH, "truncate")
    with pytest.raises(ToolError) as err:
        install(FLEETCTL, log=rig.log.append)
    assert "\n" not in err.value.message
    assert rig.server.count() == download_mod.RETRIES
    assert_nothing_installed(rig.home)
    assert lock_records() == {}


def test_truncated_once_then_complete(rig):
    rig.server.script(FLEET_PATH, "truncate")
    result = install(FLEETCTL, log=rig.log.append)
    assert result.archive_sha256 == sha(rig.archives["fleetctl", "linux-amd64"])
    assert rig.server.count() == 2


def test_connection_closed_mid_stream_leaves_nothing(rig):
    rig.server.always(FLEET_PATH, "reset")
    with pytest.raises(ToolError):
        install(FLEETCTL, log=rig.log.append)
    assert rig.server.count() == download_mod.RETRIES
    assert_nothing_installed(rig.home)


def test_content_length_is_checked_even_without_urllib3_enforcing_it(rig, monkeypatch):
    """Our own Content-Length check, for a urllib3 that does not enforce it."""
    import requests

    real_get = requests.get

    def lax_get(*args, **kwargs):
        response = real_get(*args, **kwargs)
        response.raw.enforce_content_length = False
        return response

    monkeypatch.setattr(requests, "get", lax_get)
    rig.server.always(FLEET_PATH, "truncate")
    with pytest.raises(ToolError, match="truncated"):
        install(FLEETCTL, log=rig.log.append)
    assert_nothing_installed(rig.home)


def test_interrupted_download_leaves_nothing(rig, monkeypatch):
    from kshell.install import progress

    def interrupt(self, n):
        raise KeyboardInterrupt

    monkeypatch.setattr(progress.Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        install(FLEETCTL, log=rig.log.append)
    assert_nothing_installed(rig.home)


def test_unreachable_mirror_retries_then_fails(rig, monkeypatch):
    rig.server.stop()
    with pytest.raises(ToolError) as err:
        install(FLEETCTL, log=rig.log.append)
    assert "127.0.0.1" in err.value.message and "\n" not in err.value.message
    assert len([line for line in rig.log if "retry" in line]) == download_mod.RETRIES - 1


# --- extraction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries, reason",
    [
        ([("fleet-v0.8.1-linux-amd64/x/../fleetctl", script(REPORTS["fleetctl"]))], "'..'"),
        ([("/fleet-v0.8.1-linux-amd64/fleetctl", script(REPORTS["fleetctl"]))], "absolute"),
        ([("fleet-v0.8.1-linux-amd64/fleetctl", "symlink", "/bin/sh")], "symlink"),
        (
            [
                ("fleet-v0.8.1-linux-amd64/fleetd", script(REPORTS["fleetctl"])),
                (
                    "fleet-v0.8.1-linux-amd64/fleetctl",
                    "hardlink",
                    "fleet-v0.8.1-linux-amd64/fleetd",
                ),
            ],
            "hardlink",
        ),
        ([("fleet-v0.8.1-linux-amd64/fleetctl", "device")], "device"),
        ([("fleet-v0.8.1-linux-amd64/fleetd", b"x")], "no member"),
        (
            [
                ("fleet-v0.8.1-linux-amd64/fleetctl", script(REPORTS["fleetctl"])),
                ("fleet-v0.8.1-linux-amd64/fleetctl", b"#!/bin/sh\necho evil\n"),
            ],
            "occurs 2 times",
        ),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink", "device", "missing", "duplicate"],
)
def test_unsafe_tar_members_are_refused(rig, entries, reason):
    publish(rig.server, FLEETCTL, "linux-amd64", tar_gz(entries))
    with pytest.raises(ToolError, match=reason):
        install(FLEETCTL, log=rig.log.append)
    assert_nothing_installed(rig.home)
    assert lock_records() == {}


def test_symlink_in_zip_is_refused(rig, monkeypatch):
    monkeypatch.setenv("KSHELL_PLATFORM", "darwin-amd64")
    data = zip_bytes([("fleet-v0.8.1-darwin-amd64/fleetctl", "symlink", "/bin/sh")])
    publish(rig.server, FLEETCTL, "darwin-amd64", data)
    with pytest.raises(ToolError, match="symlink"):
        install(FLEETCTL, log=rig.log.append)
    assert not target(rig.home, "fleetctl", "0.8.1", "darwin-amd64").exists()


def test_dotdot_in_the_pinned_member_is_refused(rig):
    release = dataclasses.replace(FLEETCTL.releases["linux-amd64"], member="../fleetctl")
    tool = dataclasses.replace(FLEETCTL, releases={"linux-amd64": release})
    with pytest.raises(ToolError, match="'..'"):
        install(tool, log=rig.log.append)
    assert_nothing_installed(rig.home)


def test_only_the_named_member_is_extracted(rig):
    install(FLEETCTL, log=rig.log.append)
    directory = target(rig.home, "fleetctl", "0.8.1").parent
    assert [p.name for p in directory.iterdir()] == ["fleetctl"]


# --- mirrors, offline ------------------------------------------------------------------


def test_configured_mirror_keeps_the_release_path(rig, monkeypatch):
    monkeypatch.delenv("KSHELL_MIRROR")
    data = rig.archives["fleetctl", "linux-amd64"]
    rig.server.add("/base" + FLEET_PATH, data)
    install(FLEETCTL, mirror=f"{rig.server.url}/base/", log=rig.log.append)
    assert rig.server.requests == ["/base" + FLEET_PATH]


def test_environment_mirror_wins_over_configured(rig):
    install(FLEETCTL, mirror="http://127.0.0.1:9/never", log=rig.log.append)
    assert rig.server.requests == [FLEET_PATH]


def test_file_mirror(rig, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    archive = mirror / FLEET_PATH.lstrip("/")
    archive.parent.mkdir(parents=True)
    archive.write_bytes(rig.archives["fleetctl", "linux-amd64"])
    monkeypatch.setenv("KSHELL_MIRROR", mirror.as_uri())
    result = install(FLEETCTL, log=rig.log.append)
    assert result.path.exists() and result.newly_recorded
    assert rig.server.count() == 0


def test_file_mirror_missing_archive(rig, tmp_path, monkeypatch):
    monkeypatch.setenv("KSHELL_MIRROR", (tmp_path / "empty").as_uri())
    with pytest.raises(ToolError, match="not in the mirror"):
        install(FLEETCTL, log=rig.log.append)
    assert_nothing_installed(rig.home)


def test_offline_with_everything_installed(rig, monkeypatch):
    for tool in TOOLS:
        install(tool, log=rig.log.append)
    before = rig.server.count()
    rig.server.stop()
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(requests.Session, "request", no_network)
    for tool in TOOLS:
        path = ensure_tool(tool, interactive=False, allow_install=False, mirror=None)
        assert path == target(rig.home, tool.name, tool.version)
        assert verify_installed(tool).status == "ok"
    assert rig.server.count() == before


# --- ensure_tool -----------------------------------------------------------------------


def test_ensure_tool_refuses_without_permission(rig):
    with pytest.raises(ToolError) as err:
        ensure_tool(ETCDCTL, interactive=False, allow_install=False, mirror=None)
    assert err.value.message.startswith("etcdctl 0.4.6 is not installed: run `bin install etcdctl`")
    assert "kshell run --install-missing" in err.value.message
    assert rig.server.count() == 0


def test_ensure_tool_installs_when_allowed(rig):
    path = ensure_tool(
        ETCDCTL, interactive=False, allow_install=True, mirror=None, log=rig.log.append
    )
    assert path == target(rig.home, "etcdctl", "0.4.6")


@pytest.mark.parametrize("answer, installs", [("", True), ("y", True), ("n", False)])
def test_ensure_tool_asks_on_a_terminal(rig, monkeypatch, answer, installs):
    prompts = []

    def fake_input(prompt):
        prompts.append(prompt)
        return answer

    monkeypatch.setattr("builtins.input", fake_input)
    if installs:
        ensure_tool(ETCDCTL, interactive=True, allow_install=False, mirror=None, log=rig.log.append)
        assert installed_path(ETCDCTL) is not None
    else:
        with pytest.raises(ToolError, match="is not installed: run `bin install etcdctl`"):
            ensure_tool(ETCDCTL, interactive=True, allow_install=False, mirror=None)
        assert rig.server.count() == 0
    assert prompts == ["etcdctl 0.4.6 is not installed. Install it now? [Y/n] "]


def test_ensure_tool_returns_a_user_binary(rig, tmp_path):
    own = tmp_path / "etcdctl"
    own.write_bytes(script(REPORTS["etcdctl"]))
    own.chmod(0o755)
    path = ensure_tool(
        ETCDCTL, interactive=False, allow_install=False, mirror=None, binaries={"etcdctl": str(own)}
    )
    assert path == own
    assert rig.server.count() == 0


# --- platforms -------------------------------------------------------------------------


def test_platform_without_a_release(rig, monkeypatch):
    monkeypatch.setenv("KSHELL_PLATFORM", "linux-arm64")
    for call in (
        lambda: install(FLEETCTL, log=rig.log.append),
        lambda: ensure_tool(FLEETCTL, interactive=False, allow_install=True, mirror=None),
    ):
        with pytest.raises(ToolError) as err:
            call()
        message = err.value.message
        assert "\n" not in message
        assert "linux-arm64" in message
        assert "darwin-amd64, linux-amd64" in message
        assert "bin use fleetctl PATH" in message
    assert rig.server.count() == 0


def test_verify_detects_a_changed_binary(rig):
    result = install(FLEETCTL, log=rig.log.append)
    assert verify_installed(FLEETCTL).status == "ok"
    result.path.write_bytes(b"#!/bin/sh\necho tampered\n")
    check = verify_installed(FLEETCTL)
    assert check.status == "mismatch"
    assert check.expected == result.binary_sha256 and check.actual != check.expected


# --- two processes ---------------------------------------------------------------------

_INSTALL_PROGRAM = """
import sys
from kshell.install import install
from kshell_plugins.fleet.tools import FLEETCTL
print(install(FLEETCTL, progress=False).path)
"""


def test_two_processes_install_once(rig):
    rig.server.delay = 0.5
    env = loopback_env(os.environ, rig.home, rig.server.url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INSTALL_PROGRAM],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert out.strip() == str(target(rig.home, "fleetctl", "0.8.1"))
    assert rig.server.count() == 1
    # One of them waited for the other, and said so.
    assert any("waiting for another kshell" in err for _, err in results)
    assert sum("trust on first use" in err for _, err in results) == 1


def test_url_paths_of_the_pins():
    """The exact release path per tool and platform (what a mirror must hold)."""
    expected = {
        ("fleetctl", "linux-amd64"): FLEET_PATH,
        ("fleetctl", "darwin-amd64"): (
            "/coreos/fleet/releases/download/v0.8.1/fleet-v0.8.1-darwin-amd64.zip"
        ),
        ("etcdctl", "linux-amd64"): (
            "/coreos/etcd/releases/download/v0.4.6/etcd-v0.4.6-linux-amd64.tar.gz"
        ),
        ("etcdctl", "darwin-amd64"): (
            "/coreos/etcd/releases/download/v0.4.6/etcd-v0.4.6-darwin-amd64.zip"
        ),
        ("etcdctl", "windows-amd64"): (
            "/coreos/etcd/releases/download/v0.4.6/etcd-v0.4.6-windows-amd64.zip"
        ),
        ("kubecfg", "linux-amd64"): "/kubernetes/binaries.tar.gz",
    }
    got = {
        (tool.name, platform): url_path(release.url)
        for tool in TOOLS
        for platform, release in tool.releases.items()
    }
    assert got == expected


def test_leftovers_of_a_killed_install_are_cleaned(rig):
    stale = rig.home / "cache" / "bin" / ".tmp-fleetctl-0.8.1-linux-amd64-dead"
    stale.mkdir(parents=True)
    (stale / "download-fleet-v0.8.1-linux-amd64.tar.gz").write_bytes(b"partial")
    install(FLEETCTL, log=rig.log.append)
    assert not stale.exists()
