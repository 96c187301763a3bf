"""Replaying a recipe of N `etcd set` lines, side by side with the same N etcdctl calls
made by a Python script through sh, and by a bash script, against a real etcd.

Budget (issue 9): kshell run <= 1.15 x the Python + sh script. The bash ratio is printed
for scale. Runs are interleaved (the order rotates) so a load change hits all three; the
median and the range of the runs are printed, with etcdctl 0.4.6 from ../shared/real-tools
when present. This is a benchmark, not a test: nothing asserts.

Run: .venv/bin/python bench/replay.py [--lines 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import urllib.request
from pathlib import Path

from common import (
    PYTHON,
    budget,
    env_for,
    etcd_binary,
    footer,
    header,
    home_with,
    interleaved,
    kshell_argv,
    median,
    ms,
    per_run,
    pinned_etcdctl,
    report,
    run_argv,
)

from kshell.sandbox import EtcdServer

SH_SCRIPT = """\
import os, sys
import sh

etcdctl = sh.Command(sys.argv[1])
env = {**os.environ, "ETCDCTL_PEERS": sys.argv[2]}
for i in range(int(sys.argv[3])):
    etcdctl("set", "--", f"/bench/k{i}", f"v{i}", _env=env)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    n = opts.lines
    etcdctl = pinned_etcdctl()
    header(__doc__.splitlines()[0], opts.runs, 1, {"etcdctl": etcdctl})
    work = Path(tempfile.mkdtemp(prefix="kshell-bench-replay-"))
    with EtcdServer(etcd_binary()) as etcd:
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
            "kshell run": [*kshell_argv(), "run", str(recipe)],
            "python + sh": [PYTHON, str(script), etcdctl, etcd.url, str(n)],
            "bash": ["bash", str(bash)],
        }
        for name, argv in variants.items():  # once: each one really writes the keys
            run_argv(argv, env)
            with urllib.request.urlopen(f"{etcd.url}/v2/keys/bench/k{n - 1}") as r:
                assert f'"value":"v{n - 1}"' in r.read().decode(), name
        cases = {name: (lambda argv=argv: run_argv(argv, env)) for name, argv in variants.items()}
        runs = interleaved(cases, opts.runs, 1)
    kshell, through_sh, bash_runs = runs["kshell run"], runs["python + sh"], runs["bash"]
    report([
        (f"kshell run, {n} lines", ms(kshell, "kshell run")),
        ("python + sh, the same calls", ms(through_sh, "python + sh")),
        ("bash, the same calls", ms(bash_runs, "bash")),
        ("per line, kshell run", f"{median(kshell) / n * 1000:.1f} ms"),
        ("kshell run / bash", f"{median(kshell) / median(bash_runs):.2f}x"),
    ])  # fmt: skip
    footer()
    ok = budget(
        f"replay, kshell run ({n} `etcd set` lines) / the same calls from python through sh",
        1.15, "x", per_run(kshell, through_sh, lambda a, b: a / b),
    )  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
