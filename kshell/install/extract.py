"""Take one named member out of a tar.gz or zip archive, and nothing else.

Only a regular file is taken; absolute paths, ``..``, symlinks, hardlinks, devices
and a name that occurs twice are refused. The archive's paths are never used to
write: the member is copied to the destination the caller names.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from .errors import ToolError

MAX_SIZE = 1 << 30
"""Refuse a member larger than this (a decompression bomb is not a CLI binary)."""


def _unsafe(name: str) -> str | None:
    """Why an archive path is unsafe, or None."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in name.split("/"):
        return "'..' in its path"
    return None


def _normal(name: str) -> str:
    return posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")


def _pick(names: list[str], member: str, archive: Path) -> int:
    """The index of the one entry naming ``member``."""
    wanted = _normal(member)
    hits = [i for i, n in enumerate(names) if _normal(n) == wanted]
    if not hits:
        raise ToolError(f"{archive.name} has no member {member}")
    if len(hits) > 1:
        raise ToolError(f"refusing {archive.name}: member {member} occurs {len(hits)} times")
    reason = _unsafe(names[hits[0]])
    if reason:
        raise ToolError(
            f"refusing {archive.name}: member {names[hits[0]]!r} has {reason}; nothing installed"
        )
    return hits[0]


def extract_member(archive: Path, kind: str, member: str, dest: Path) -> None:
    """Copy ``member`` of ``archive`` (``tar.gz`` or ``zip``) to ``dest``, executable."""
    reason = _unsafe(member)
    if reason or not member.strip("/"):
        raise ToolError(f"refusing member {member!r}: {reason or 'empty name'}")
    try:
        if kind == "tar.gz":
            _from_tar(archive, member, dest)
        elif kind == "zip":
            _from_zip(archive, member, dest)
        else:
            raise ToolError(f"unknown archive kind {kind!r}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, OSError) and str(e.filename) == str(dest):
            raise ToolError(f"cannot write {dest}: {e.strerror or e}") from None
        raise ToolError(f"{archive.name} is not a readable {kind} archive: {e}") from None
    make_executable(dest)


def _from_tar(archive: Path, member: str, dest: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        entries = tar.getmembers()
        entry = entries[_pick([e.name for e in entries], member, archive)]
        if not entry.isreg():
            kind = (
                "a symlink"
                if entry.issym()
                else "a hardlink"
                if entry.islnk()
                else "a directory"
                if entry.isdir()
                else "a device or special file"
            )
            raise ToolError(f"refusing {archive.name}: member {entry.name} is {kind}")
        if entry.size > MAX_SIZE:
            raise ToolError(f"refusing {archive.name}: member {entry.name} is too large")
        source = tar.extractfile(entry)
        if source is None:
            raise ToolError(f"cannot read {entry.name} from {archive.name}")
        with source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out)


def _from_zip(archive: Path, member: str, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        info = infos[_pick([i.filename for i in infos], member, archive)]
        mode = info.external_attr >> 16
        file_type = stat.S_IFMT(mode)
        if info.is_dir() or (file_type and file_type != stat.S_IFREG):
            kind = (
                "a symlink"
                if stat.S_ISLNK(mode)
                else "a directory"
                if info.is_dir() or stat.S_ISDIR(mode)
                else "a device or special file"
            )
            raise ToolError(f"refusing {archive.name}: member {info.filename} is {kind}")
        if info.file_size > MAX_SIZE:
            raise ToolError(f"refusing {archive.name}: member {info.filename} is too large")
        with zf.open(info) as source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out)


def make_executable(path: Path) -> None:
    mode = os.stat(path).st_mode
    os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
