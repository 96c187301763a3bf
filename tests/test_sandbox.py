"""`kshell --sandbox`: a throwaway real etcd, used and removed."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def kshell(home, *args, env=None):
    full = {**os.environ, "KSHELL_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kshell", *args], capture_output=True, text=True, env=full,
        timeout=60,
    )  # fmt: skip


def test_sandbox_starts_uses_and_removes_etcd(home, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"ETCDCTL_PEERS": "http://10.9.9.9:4001", "TMPDIR": str(tmp)}
    r = kshell(home, "--sandbox", "-c", "context", env=env)
    assert r.returncode == 0, r.stderr
    url = re.search(r"sandbox etcd at (http://127\.0\.0\.1:\d+)", r.stderr).group(1)
    assert "context: sandbox" in r.stdout
    assert re.search(rf"etcd\.endpoint\s+{re.escape(url)}\s+context", r.stdout)
    assert "ignoring $ETCDCTL_PEERS in the sandbox" in r.stderr
    # the sandbox is gone: nothing answers, and its data directory was removed
    import urllib.request

    try:
        urllib.request.urlopen(f"{url}/version", timeout=1)
        raise AssertionError("the sandbox etcd is still running")
    except OSError:
        pass
    assert list(tmp.iterdir()) == []  # its data directory was removed


def test_sandbox_without_etcd_says_how_to_get_one(home, tmp_path):
    r = kshell(home, "--sandbox", "-c", "context", env={"KSHELL_ETCD": str(tmp_path / "none")})
    assert r.returncode == 69
    assert r.stderr.count("\n") == 1
    assert "pip install 'kshell[sandbox]'" in r.stderr and "apt-get install etcd-server" in r.stderr
