"""Replaying a recipe of N `etcd set` lines, side by side with the same N etcdctl calls
made by a Python script through sh, and by a bash script, against a real etcd.

Budget (issue 9): kshell run <= 1.15 x the Python + sh script. The bash ratio is printed
for scale. Runs are interleaved (the order rotates) so a load change hits all three;
median and range are printed. This is a benchmark, not a test: nothing asserts.

Run: .venv/bin/python bench/replay.py [--lines 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from common import PYTHON, env_for, home_with, report

from kshell.sandbox import EtcdServer, find_etcd

SH_SCRIPT = """\
import os, sys
import sh

etcdctl = sh.Command(sys.argv[1])
env = {**os.environ, "ETCDCTL_PEERS": sys.argv[2]}
for i in range(int(sys.argv[3])):
    etcdctl("set", "--", f"/bench/k{i}", f"v{i}", _env=env)
"""


def _run(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _spread(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples):.2f} s  "
        f"(range {min(samples):.2f}-{max(samples):.2f} s, n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    n = opts.lines
    etcd_bin = find_etcd()
    etcdctl = str(Path(etcd_bin).with_name("etcdctl"))
    work = Path(tempfile.mkdtemp(prefix="kshell-bench-replay-"))
    with EtcdServer(etcd_bin) as etcd:
        home = home_with(
            f"contexts:\n  default:\n    etcd.endpoint: {etcd.url}\n"
            f"binaries:\n  etcdctl: {etcdctl}\n"
        )
        env = env_for(home)
        env["ETCDCTL_API"] = "2"  # etcd 3.x's etcdctl speaks v2 like 0.4.6 with this
        recipe = work / "sets.ksh"
        recipe.write_text("".join(f"etcd set /bench/k{i} v{i}\n" for i in range(n)))
        script = work / "sets.py"
        script.write_text(SH_SCRIPT)
        bash = work / "sets.sh"
        quoted = shlex.quote(etcdctl)
        bash.write_text(
            f"set -e\nexport ETCDCTL_PEERS={shlex.quote(etcd.url)}\n"
            + "".join(f"{quoted} set -- /bench/k{i} v{i} >/dev/null\n" for i in range(n))
        )
        variants = {
            "kshell run": [PYTHON, "-m", "kshell", "run", str(recipe)],
            "python + sh": [PYTHON, str(script), etcdctl, etcd.url, str(n)],
            "bash": ["bash", str(bash)],
        }
        # Check once that each one really writes the keys.
        for name, argv in variants.items():
            _run(argv, env)
            with urllib.request.urlopen(f"{etcd.url}/v2/keys/bench/k{n - 1}") as r:
                assert f'"value":"v{n - 1}"' in r.read().decode(), name
        times: dict[str, list[float]] = {name: [] for name in variants}
        ratios: dict[str, list[float]] = {"sh": [], "bash": []}
        names = list(variants)
        for run in range(opts.runs):
            order = names[run % 3 :] + names[: run % 3]
            took = {name: _run(variants[name], env) for name in order}
            for name, seconds in took.items():
                times[name].append(seconds)
            ratios["sh"].append(took["kshell run"] / took["python + sh"])
            ratios["bash"].append(took["kshell run"] / took["bash"])
    sh_median = statistics.median(ratios["sh"])
    rows = [(name, _spread(samples)) for name, samples in times.items()]
    rows += [
        ("per line, kshell run", f"{statistics.median(times['kshell run']) / n * 1000:.1f} ms"),
        (
            "kshell run / python + sh",
            f"{sh_median:.3f} (range {min(ratios['sh']):.3f}-{max(ratios['sh']):.3f}); "
            f"budget <= 1.15: {'met' if sh_median <= 1.15 else 'NOT met'}",
        ),
        (
            "kshell run / bash",
            f"{statistics.median(ratios['bash']):.3f} "
            f"(range {min(ratios['bash']):.3f}-{max(ratios['bash']):.3f})",
        ),
        ("load average", " ".join(f"{x:.2f}" for x in os.getloadavg())),
    ]
    print(f"{n} `etcd set` lines, {opts.runs} interleaved runs each")
    report(rows)


if __name__ == "__main__":
    main()
