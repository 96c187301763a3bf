"""Digests: hashing files and the lock file that records them (``tools.lock.json``).

The lock file lives in the config directory, is written atomically under a file
lock, and holds per installed ``<name>-<version>-<platform>``::

    {"archive_sha256": …, "binary_sha256": …, "source": "known" | "tofu",
     "url": …, "archive": …, "recorded": "2026-…"}

and per ``bin use`` binary (``"binaries": {name: {"path", "sha256", "version"}}``).
A recorded archive digest is never dropped except by ``bin forget``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kshell import paths
from kshell.atomic import write_atomic

from .errors import ToolError

LOCK_NAME = "tools.lock.json"
LOCK_TIMEOUT = 60.0


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def lock_path() -> Path:
    return paths.config_dir() / LOCK_NAME


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def load() -> dict[str, Any]:
    """The lock file's content (empty sections when there is none yet)."""
    path = lock_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"version": 1, "tools": {}, "binaries": {}}
    except OSError as e:
        raise ToolError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        # Never start over silently: that would throw away trust-on-first-use records.
        raise ToolError(
            f"cannot read {path}: {e}; fix or remove it (recorded digests are lost then)"
        ) from None
    data.setdefault("version", 1)
    data.setdefault("tools", {})
    data.setdefault("binaries", {})
    return data


def update(change: Callable[[dict[str, Any]], Any]) -> Any:
    """Read, ``change`` in place, and write back, with other processes locked out."""
    from filelock import FileLock, Timeout

    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT):
            data = load()
            result = change(data)
            write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
            return result
    except Timeout:
        raise ToolError(f"{path} is locked by another kshell; try again") from None


def record_key(name: str, version: str, platform: str) -> str:
    return f"{name}-{version}-{platform}"


def get_record(name: str, version: str, platform: str) -> dict[str, Any] | None:
    return load()["tools"].get(record_key(name, version, platform))


def put_record(name: str, version: str, platform: str, record: dict[str, Any]) -> None:
    def change(data: dict[str, Any]) -> None:
        data["tools"][record_key(name, version, platform)] = record

    update(change)


def forget(name: str) -> list[tuple[str, dict[str, Any]]]:
    """Drop every record of ``name`` (all versions and platforms); returns what went."""

    def change(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        gone = [(k, v) for k, v in data["tools"].items() if v.get("name") == name]
        for key, _ in gone:
            del data["tools"][key]
        user = data["binaries"].pop(name, None)
        if user:
            gone.append((f"{name} (bin use)", user))
        return gone

    return update(change)


def put_user_binary(name: str, record: dict[str, Any] | None) -> None:
    def change(data: dict[str, Any]) -> None:
        if record is None:
            data["binaries"].pop(name, None)
        else:
            data["binaries"][name] = record

    update(change)
