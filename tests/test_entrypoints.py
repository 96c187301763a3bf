"""The cached entry-point scan sees installs and removals."""

from __future__ import annotations

import importlib
import os
import sys
import time

from kshell.entrypoints import kshell_entry_points


def _dist(site, name, plugins):
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "\n".join(f"{p} = {p}_mod" for p in plugins)
    (info / "entry_points.txt").write_text(f"[kshell]\n{lines}\n")
    # mtimes can be coarse: make each change visible
    stamp = time.time() + len(plugins)
    os.utime(info / "entry_points.txt", (stamp, stamp))
    os.utime(site, (stamp, stamp))


def names():
    importlib.invalidate_caches()
    return {e.name for e in kshell_entry_points()}


def test_scan_is_cached_and_follows_changes(home, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    _dist(site, "one", ["alpha"])
    assert "alpha" in names()
    assert (home / "cache" / "entry-points.json").exists()
    assert "alpha" in names()  # from the cache
    _dist(site, "one", ["alpha", "beta"])  # the distribution was upgraded in place
    assert {"alpha", "beta"} <= names()
    (site / "one-1.0.dist-info" / "entry_points.txt").unlink()
    for f in (site / "one-1.0.dist-info").iterdir():
        f.unlink()
    (site / "one-1.0.dist-info").rmdir()
    os.utime(site, (time.time() + 10, time.time() + 10))
    assert not {"alpha", "beta"} & names()
    assert str(site) in sys.path
