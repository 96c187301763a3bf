"""`kshell -c 'etcd get KEY'` against raw `etcdctl get KEY` on a real etcd.

Budget (issue 2): kshell <= raw etcdctl + 120 ms wall. Run: .venv/bin/python bench/oneshot.py
"""

from __future__ import annotations

import subprocess
import urllib.request

from common import PYTHON, env_for, home_with, median_ms, report, timed

from kshell.sandbox import EtcdServer, find_etcd

REPEAT = 40


def main() -> None:
    etcd_bin = find_etcd()
    etcdctl = str(__import__("pathlib").Path(etcd_bin).with_name("etcdctl"))
    with EtcdServer(etcd_bin) as etcd:
        req = urllib.request.Request(
            f"{etcd.url}/v2/keys/bench/key", data=b"value=hello", method="PUT"
        )
        urllib.request.urlopen(req).read()
        home = home_with(
            f"contexts:\n  default:\n    etcd.endpoint: {etcd.url}\n"
            f"binaries:\n  etcdctl: {etcdctl}\n"
        )
        env = env_for(home)
        env["ETCDCTL_API"] = "2"
        raw = [etcdctl, "--peers", etcd.url, "get", "/bench/key"]
        ks = [PYTHON, "-m", "kshell", "-c", "etcd get /bench/key"]
        for argv in (raw, ks):  # warm up, and check both answer the same
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            assert out.stdout == "hello\n", out
        raw_t, ks_t = [], []
        for _ in range(REPEAT):
            raw_t += timed(lambda: subprocess.run(raw, env=env, capture_output=True), 1)
            ks_t += timed(lambda: subprocess.run(ks, env=env, capture_output=True), 1)
        r, k = median_ms(raw_t), median_ms(ks_t)
        # Where the overhead goes: the interpreter, kshell's own start, sh's import.
        parts = {
            "  python -c pass": [PYTHON, "-c", "pass"],
            "  kshell -c 'context list' (no tool)": [PYTHON, "-m", "kshell", "-c", "context list"],
            "  python -c 'import sh'": [PYTHON, "-c", "import sh"],
        }
        split = {
            name: median_ms(
                timed(lambda a=argv: subprocess.run(a, env=env, capture_output=True), REPEAT)
            )
            for name, argv in parts.items()
        }
        report(
            [
                ("raw etcdctl get", f"{r:.0f} ms"),
                ("kshell -c 'etcd get'", f"{k:.0f} ms"),
                ("overhead (budget <= 120 ms)", f"{k - r:.0f} ms"),
                ("ratio", f"{k / r:.2f}"),
                ("where it goes:", ""),
                *((name, f"{ms:.0f} ms") for name, ms in split.items()),
            ]
        )


if __name__ == "__main__":
    main()
