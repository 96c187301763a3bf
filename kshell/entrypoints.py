"""The ``kshell`` entry points, cached: importing importlib.metadata and reading every
distribution's metadata costs ~30 ms at each start, so the scan result is kept in the
cache directory, keyed by the mtimes of sys.path entries and their entry-point files.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

from kshell import paths

GROUP = "kshell"
KEEP = 8  # scans remembered, one per distinct sys.path state


@dataclass(frozen=True)
class EntryPoint:
    name: str
    value: str
    dist: str  # distribution name, "" when unknown


def _fingerprint() -> str:
    import zlib  # not hashlib: loading OpenSSL costs ~2 ms at every start

    parts: list[str] = []
    for entry in sys.path:
        try:
            st = os.stat(entry or ".")
            names = os.listdir(entry or ".") if os.path.isdir(entry or ".") else []
        except OSError:
            continue
        parts.append(f"{entry}\0{st.st_mtime_ns}")
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    ep = os.stat(os.path.join(entry, name, "entry_points.txt")).st_mtime_ns
                except OSError:
                    ep = 0
                parts.append(f"{name}\0{ep}")
    text = "\0".join(parts).encode()
    return f"{zlib.crc32(text):08x}-{len(text)}"


def _scan() -> list[EntryPoint]:
    from importlib.metadata import entry_points

    found: list[EntryPoint] = []
    seen: set[str] = set()
    for ep in entry_points(group=GROUP):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = getattr(ep, "dist", None)
        found.append(EntryPoint(ep.name, ep.value, dist.metadata["Name"] if dist else ""))
    return found


def kshell_entry_points() -> list[EntryPoint]:
    cache = paths.cache_dir() / "entry-points.json"
    key = _fingerprint()
    try:
        scans = json.loads(cache.read_text())
        if not isinstance(scans, dict):
            scans = {}
    except (OSError, ValueError):
        scans = {}
    try:
        return [EntryPoint(**e) for e in scans[key]]
    except (KeyError, TypeError):
        pass
    found = _scan()
    # A few keys: `python -m kshell` puts the working directory on sys.path.
    scans = dict(list(scans.items())[-(KEEP - 1) :])
    scans[key] = [e.__dict__ for e in found]
    try:
        from kshell.atomic import write_atomic

        write_atomic(cache, json.dumps(scans))
    except OSError:
        pass  # a read-only cache only costs time
    return found


def load(ep: EntryPoint) -> object:
    """Import the entry point's object (``module`` or ``module:attr``)."""
    import importlib

    module, _, attr = ep.value.partition(":")
    obj: object = importlib.import_module(module.strip())
    for part in filter(None, attr.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def dist_version(dist: str) -> str:
    if not dist:
        return ""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""
