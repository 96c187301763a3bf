"""Small pieces of the installer: mirror URLs, platform keys, extraction, the lock file."""

from __future__ import annotations

import pytest
from httpfixture import script, tar_gz, zip_bytes
from kshell_plugins.fleet.tools import FLEETCTL

from kshell.install import (
    ToolError,
    effective_mirror,
    extract,
    mirror_url,
    platform_key,
    release_for,
    verify,
)

ORIGIN = "https://github.com/coreos/fleet/releases/download/v0.8.1/x.tar.gz"


@pytest.mark.parametrize(
    "mirror, url",
    [
        (None, ORIGIN),
        ("http://m/base", "http://m/base/coreos/fleet/releases/download/v0.8.1/x.tar.gz"),
        ("http://m/base/", "http://m/base/coreos/fleet/releases/download/v0.8.1/x.tar.gz"),
        ("file:///srv/m", "file:///srv/m/coreos/fleet/releases/download/v0.8.1/x.tar.gz"),
    ],
)
def test_mirror_url_keeps_the_path(mirror, url):
    assert mirror_url(ORIGIN, mirror) == url


def test_mirror_url_of_a_flat_release():
    kube = "https://storage.googleapis.com/kubernetes/binaries.tar.gz"
    assert mirror_url(kube, "http://m") == "http://m/kubernetes/binaries.tar.gz"


def test_environment_mirror_wins(monkeypatch):
    monkeypatch.delenv("KSHELL_MIRROR", raising=False)
    assert effective_mirror(None) is None
    assert effective_mirror("http://config") == "http://config"
    monkeypatch.setenv("KSHELL_MIRROR", "http://env")
    assert effective_mirror("http://config") == "http://env"


@pytest.mark.parametrize(
    "system, machine, key",
    [
        ("Linux", "x86_64", "linux-amd64"),
        ("Linux", "aarch64", "linux-arm64"),
        ("Darwin", "x86_64", "darwin-amd64"),
        ("Darwin", "arm64", "darwin-arm64"),
        ("Windows", "AMD64", "windows-amd64"),
        ("Linux", "armv7l", "linux-armv7l"),
    ],
)
def test_platform_key(monkeypatch, system, machine, key):
    import platform

    monkeypatch.delenv("KSHELL_PLATFORM", raising=False)
    monkeypatch.setattr(platform, "system", lambda: system)
    monkeypatch.setattr(platform, "machine", lambda: machine)
    assert platform_key() == key


def test_platform_override(monkeypatch):
    monkeypatch.setenv("KSHELL_PLATFORM", "darwin-arm64")
    assert platform_key() == "darwin-arm64"


def test_no_release_names_what_exists():
    with pytest.raises(ToolError) as err:
        release_for(FLEETCTL, "darwin-arm64")
    assert "releases exist for: darwin-amd64, linux-amd64" in err.value.message
    assert "`bin use fleetctl PATH`" in err.value.message


def test_extract_sets_the_executable_bit(tmp_path):
    archive = tmp_path / "a.tar.gz"
    data = script("fleetctl version 0.8.1")
    archive.write_bytes(tar_gz([("./top/fleetctl", data)]))
    dest = tmp_path / "out"
    extract.extract_member(archive, "tar.gz", "top/fleetctl", dest)
    assert dest.read_bytes() == data
    assert dest.stat().st_mode & 0o111 == 0o111


def test_extract_zip_member(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes([("top/README.md", b"r"), ("top/fleetctl", b"bin")]))
    dest = tmp_path / "out"
    extract.extract_member(archive, "zip", "top/fleetctl", dest)
    assert dest.read_bytes() == b"bin"


@pytest.mark.parametrize("name", ["../fleetctl", "/abs/fleetctl", "a/../../b"])
def test_zip_unsafe_names(tmp_path, name):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes([(name, b"bin")]))
    with pytest.raises(ToolError):
        extract.extract_member(archive, "zip", "fleetctl", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_not_an_archive(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(ToolError, match="not a readable tar.gz archive"):
        extract.extract_member(archive, "tar.gz", "fleetctl", tmp_path / "out")


def test_corrupt_lock_file_is_not_silently_replaced(home):
    path = verify.lock_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ToolError, match="cannot read"):
        verify.load()
    with pytest.raises(ToolError):
        verify.put_record("fleetctl", "0.8.1", "linux-amd64", {"name": "fleetctl"})
    assert path.read_text() == "{not json"
