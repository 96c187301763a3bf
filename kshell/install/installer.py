"""Install, find, verify and remove pinned tools in the user cache directory.

Layout: ``<cache>/bin/<name>-<version>-<platform>/<name>``. An install downloads
into a temporary directory beside it, checks the archive digest (a known one, or
the one recorded on first download), extracts the one member, asks the binary for
its version, records the digests and only then renames the binary into place, all
under a per-tool file lock. Whatever fails on the way leaves nothing at that path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kshell import Release, Tool, paths

from . import verify
from .download import Log, download, effective_mirror, mirror_url, stderr_log
from .errors import ToolError
from .extract import extract_member, make_executable
from .platforms import binary_name, platform_key, release_for
from .probe import check_version, reported_version

INSTALL_LOCK_TIMEOUT = 900.0
"""Seconds to wait for another process installing the same tool."""

KNOWN = "known digest"
TOFU = "trust on first use"
USER = "user-supplied path"
_LABELS = {"known": KNOWN, "tofu": TOFU}


@dataclass(frozen=True)
class InstallResult:
    tool: Tool
    platform: str
    path: Path
    archive_sha256: str | None
    binary_sha256: str | None
    verified: str
    """``known digest`` or ``trust on first use``."""
    newly_recorded: bool
    """This install recorded the archive digest (first download)."""
    reported_version: str | None
    downloaded: bool
    """False when the tool was already installed (nothing fetched)."""


@dataclass(frozen=True)
class VerifyResult:
    name: str
    path: Path | None
    status: str
    """``ok``, ``mismatch``, ``unrecorded`` or ``not installed``."""
    expected: str | None = None
    actual: str | None = None
    verified: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not installed")


def install_root() -> Path:
    return paths.cache_dir() / "bin"


def install_dir(tool: Tool, platform: str | None = None) -> Path:
    platform = platform or platform_key()
    return install_root() / verify.record_key(tool.name, tool.version, platform)


def target_path(tool: Tool, platform: str | None = None) -> Path:
    """Where the pinned binary is looked up (whether or not it is there)."""
    platform = platform or platform_key()
    return install_dir(tool, platform) / binary_name(tool, platform)


def installed_path(
    tool: Tool, *, binaries: Mapping[str, str] | None = None, platform: str | None = None
) -> Path | None:
    """The binary to run, if there is one: no hashing, no network.

    ``binaries`` (the config's ``bin use`` paths) wins over the installed copy.
    """
    explicit = (binaries or {}).get(tool.name)
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_file() else None
    path = target_path(tool, platform)
    return path if path.is_file() else None


def not_installed_message(tool: Tool) -> str:
    return (
        f"{tool.name} {tool.version} is not installed: run `bin install {tool.name}` "
        f"(or in recipes `kshell run --install-missing`)"
    )


def ensure_tool(
    tool: Tool,
    *,
    interactive: bool,
    allow_install: bool,
    mirror: str | None,
    binaries: Mapping[str, str] | None = None,
    progress: bool | None = None,
    log: Log = stderr_log,
) -> Path:
    """The path of ``tool``'s binary, installing it when allowed (or when the user agrees).

    A ``bin use`` path in ``binaries`` is returned as is. With the binary installed,
    nothing is hashed and no network is touched. Raises :class:`ToolError`.
    """
    explicit = (binaries or {}).get(tool.name)
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        raise ToolError(
            f"{tool.name}: the binary set with `bin use` ({explicit}) does not exist; "
            f"run `bin use {tool.name} PATH` again or `bin remove {tool.name}`"
        )
    found = installed_path(tool)
    if found:
        return found
    release_for(tool, platform_key())  # one clear line when there is nothing to install
    if not allow_install and not (interactive and _ask_install(tool)):
        raise ToolError(not_installed_message(tool))
    return install(tool, mirror=mirror, progress=progress, log=log).path


def _ask_install(tool: Tool) -> bool:
    try:
        answer = input(f"{tool.name} {tool.version} is not installed. Install it now? [Y/n] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("", "y", "yes")


class _InstallLock:
    """The per-tool file lock; says so when it has to wait for another process."""

    def __init__(self, tool: Tool, key: str, log: Log) -> None:
        from filelock import FileLock

        install_root().mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(install_root() / f".{key}.lock"))
        self.tool = tool
        self.log = log

    def __enter__(self) -> _InstallLock:
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            self.log(f"waiting for another kshell installing {self.tool.name} {self.tool.version}")
            try:
                self.lock.acquire(timeout=INSTALL_LOCK_TIMEOUT)
            except Timeout:
                raise ToolError(
                    f"another kshell has been installing {self.tool.name} for "
                    f"{INSTALL_LOCK_TIMEOUT:g}s; try again later"
                ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def install(
    tool: Tool,
    *,
    mirror: str | None = None,
    progress: bool | None = None,
    force: bool = False,
    log: Log = stderr_log,
    platform: str | None = None,
) -> InstallResult:
    """Download, verify and install ``tool`` for this platform (see the module doc).

    ``mirror`` is the configured mirror base URL (``KSHELL_MIRROR`` wins over it).
    Already installed and not ``force``: nothing is fetched. Raises :class:`ToolError`.
    """
    platform = platform or platform_key()
    release = release_for(tool, platform)
    key = verify.record_key(tool.name, tool.version, platform)
    target = target_path(tool, platform)
    with _InstallLock(tool, key, log):
        for stale in install_root().glob(f".tmp-{key}-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed install
        if target.is_file() and not force:
            record = verify.get_record(tool.name, tool.version, platform) or {}
            return InstallResult(
                tool=tool,
                platform=platform,
                path=target,
                archive_sha256=record.get("archive_sha256"),
                binary_sha256=record.get("binary_sha256"),
                verified=_LABELS.get(record.get("source", ""), "unrecorded"),
                newly_recorded=False,
                reported_version=record.get("reported_version"),
                downloaded=False,
            )
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=install_root()))
        try:
            return _install_locked(tool, platform, release, target, tmp, mirror, progress, log)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _install_locked(
    tool: Tool,
    platform: str,
    release: Release,
    target: Path,
    tmp: Path,
    mirror: str | None,
    progress: bool | None,
    log: Log,
) -> InstallResult:
    archive_name = release.url.rstrip("/").rsplit("/", 1)[-1] or tool.name
    url = mirror_url(release.url, effective_mirror(mirror))
    got = download(url, tmp / f"download-{archive_name}", progress=progress, log=log)
    record = verify.get_record(tool.name, tool.version, platform) or {}
    source, newly = _check_archive(tool, release, archive_name, got.sha256, record)

    binary = tmp / binary_name(tool, platform)
    if release.archive == "binary":
        os.replace(got.path, binary)
        make_executable(binary)
    else:
        extract_member(got.path, release.archive, release.member, binary)
    binary_sha256 = verify.sha256_file(binary)
    try:
        version = check_version(tool, binary)
    except ToolError as e:
        raise ToolError(f"refusing {archive_name}: {e.message}; nothing installed") from None

    verify.put_record(
        tool.name,
        tool.version,
        platform,
        {
            "name": tool.name,
            "version": tool.version,
            "platform": platform,
            "url": release.url,
            "archive": archive_name,
            "archive_sha256": got.sha256,
            "binary_sha256": binary_sha256,
            "source": source,
            "recorded": record.get("recorded") if not newly else verify.now(),
            "installed": verify.now(),
            "reported_version": version,
        },
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(binary, target)
    if newly:
        log(
            f"{tool.name} {tool.version}: no published digest; trust on first use: recorded "
            f"sha256 {got.sha256} of {archive_name} in {verify.lock_path()}"
        )
    return InstallResult(
        tool=tool,
        platform=platform,
        path=target,
        archive_sha256=got.sha256,
        binary_sha256=binary_sha256,
        verified=_LABELS[source],
        newly_recorded=newly,
        reported_version=version,
        downloaded=True,
    )


def _check_archive(
    tool: Tool, release: Release, archive: str, actual: str, record: Mapping[str, Any]
) -> tuple[str, bool]:
    """(source, newly recorded) when ``actual`` is acceptable; ToolError otherwise."""
    if release.sha256:
        expected = release.sha256.strip().lower()
        if actual != expected:
            raise ToolError(
                f"refusing {archive}: its sha256 is {actual}, but kshell pins {expected} "
                f"for {tool.name} {tool.version}; nothing installed"
            )
        return "known", False
    recorded = record.get("archive_sha256")
    if recorded:
        if actual != recorded:
            raise ToolError(
                f"refusing {archive}: its sha256 is {actual}, but {recorded} was recorded "
                f"on first download ({record.get('recorded', 'date unknown')}, in "
                f"{verify.lock_path()}); nothing installed. If the release was really "
                f"replaced, run `bin forget {tool.name}` and install again"
            )
        return "tofu", False
    return "tofu", True


def remove(tool: Tool, *, platform: str | None = None, log: Log = stderr_log) -> Path | None:
    """Delete the installed binary (the recorded digests stay); the path, or None."""
    platform = platform or platform_key()
    key = verify.record_key(tool.name, tool.version, platform)
    directory = install_dir(tool, platform)
    with _InstallLock(tool, key, log):
        target = target_path(tool, platform)
        if not directory.exists():
            return None
        shutil.rmtree(directory)
        return target


def verify_installed(tool: Tool, *, platform: str | None = None) -> VerifyResult:
    """Re-hash the installed binary against the digest recorded when it was installed."""
    platform = platform or platform_key()
    path = target_path(tool, platform)
    if not path.is_file():
        return VerifyResult(tool.name, None, "not installed")
    record = verify.get_record(tool.name, tool.version, platform) or {}
    expected = record.get("binary_sha256")
    actual = verify.sha256_file(path)
    label = _LABELS.get(record.get("source", ""))
    if not expected:
        return VerifyResult(tool.name, path, "unrecorded", None, actual, label)
    status = "ok" if actual == expected else "mismatch"
    return VerifyResult(tool.name, path, status, expected, actual, label)


def verify_user_binary(tool: Tool, path: str) -> VerifyResult:
    """Re-hash a ``bin use`` binary against the digest recorded by ``bin use``."""
    binary = Path(path).expanduser()
    if not binary.is_file():
        return VerifyResult(tool.name, binary, "not installed", verified=USER)
    record = verify.load()["binaries"].get(tool.name) or {}
    actual = verify.sha256_file(binary)
    expected = record.get("sha256") if record.get("path") == str(binary) else None
    if not expected:
        return VerifyResult(tool.name, binary, "unrecorded", None, actual, USER)
    status = "ok" if actual == expected else "mismatch"
    return VerifyResult(tool.name, binary, status, expected, actual, USER)


def use_binary(tool: Tool, path: str, *, force: bool = False) -> tuple[Path, str | None, str]:
    """Check an explicit binary for ``bin use``: (absolute path, reported version, sha256).

    The version must be the pinned one unless ``force``. Records its digest in the
    lock file; writing the config is the caller's job.
    """
    binary = Path(path).expanduser()
    if not binary.is_file():
        raise ToolError(f"{path} is not a file")
    binary = binary.resolve()
    if os.name != "nt" and not os.access(binary, os.X_OK):
        raise ToolError(f"{binary} is not executable (chmod +x it)")
    if force:
        try:
            version: str | None = reported_version(tool, binary)
        except ToolError:
            version = None
    else:
        try:
            version = check_version(tool, binary)
        except ToolError as e:
            raise ToolError(f"{e.message}; use --force to use it anyway") from None
    digest = verify.sha256_file(binary)
    verify.put_user_binary(
        tool.name,
        {"path": str(binary), "sha256": digest, "version": version, "recorded": verify.now()},
    )
    return binary, version, digest


def describe(
    tool: Tool, *, binaries: Mapping[str, str] | None = None, probe: bool = True
) -> dict[str, Any]:
    """What ``bin list`` shows about ``tool`` (``probe`` runs the binary's version report)."""
    platform = platform_key()
    explicit = (binaries or {}).get(tool.name)
    info: dict[str, Any] = {
        "name": tool.name,
        "pin": tool.version,
        "platform": platform,
        "available": platform in tool.releases,
        "installed": False,
        "path": None,
        "archive_sha256": None,
        "binary_sha256": None,
        "verified": None,
        "reports": None,
    }
    data = verify.load()
    if explicit:
        binary = Path(explicit).expanduser()
        user = data["binaries"].get(tool.name) or {}
        info.update(
            installed=binary.is_file(),
            path=str(binary),
            binary_sha256=user.get("sha256") if user.get("path") == str(binary) else None,
            verified=USER,
        )
    else:
        binary = target_path(tool, platform)
        record = data["tools"].get(verify.record_key(tool.name, tool.version, platform)) or {}
        installed = binary.is_file()
        info.update(
            installed=installed,
            path=str(binary) if installed else None,
            archive_sha256=record.get("archive_sha256"),
            binary_sha256=record.get("binary_sha256"),
            verified=_LABELS.get(record.get("source", "")) if record else None,
        )
    if probe and info["installed"]:
        try:
            info["reports"] = reported_version(tool, binary)
        except ToolError as e:
            info["reports"] = None
            info["error"] = e.message
    return info
