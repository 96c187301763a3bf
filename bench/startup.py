"""Time from start to prompt in a pty against a bare prompt_toolkit PromptSession; memory.

Budgets (issue 10, point 16): time to the prompt <= 1.15x a bare prompt_toolkit
PromptSession script, both measured interleaved in this run; resident memory at the prompt
<= 35 MiB, read once the background import of sh that follows the prompt is done.
Run: .venv/bin/python bench/startup.py   (about a minute)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict

import pexpect
from common import (
    PYTHON,
    ROOT,
    budget,
    env_for,
    footer,
    header,
    home_with,
    interleaved,
    kshell_argv,
    ms,
    per_run,
    report,
)  # fmt: skip

RUNS, PER_RUN = 5, 4
LIMIT, RSS_LIMIT_MIB = 1.15, 35.0
SETTLE = 1.0  # seconds after the prompt: sh's background import is done by then


cpu: dict[str, list[float]] = defaultdict(list)
"""CPU seconds each process had used when its prompt appeared (all its threads; read just
after, so a few ms of kshell's background import of sh may be in it): a figure far less
sensitive to a loaded machine than the wall time."""


def cpu_ns(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return total


def to_prompt(argv: list[str], pattern: str, env: dict[str, str], rss: list[float]) -> None:
    """Start ``argv`` in a pty, wait for its prompt; after SETTLE, note its RSS; Ctrl-D."""
    t = time.perf_counter()
    child = pexpect.spawn(
        argv[0], argv[1:], env=env, encoding="utf-8", timeout=30, dimensions=(40, 120)
    )
    child.expect(pattern)
    elapsed = time.perf_counter() - t
    cpu[argv[-1]].append(cpu_ns(child.pid) / 1e9)
    time.sleep(SETTLE)
    with open(f"/proc/{child.pid}/status") as f:
        rss.append(next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return elapsed


def cpu_line(bare: str, kshell: str) -> str:
    b, k = statistics.median(cpu[bare]) * 1000, statistics.median(cpu[kshell]) * 1000
    return f"{b:.0f} ms, {k:.0f} ms, {k / b:.2f}x"


def main() -> int:
    header(__doc__.splitlines()[0], RUNS, PER_RUN, {})
    env = env_for(home_with())
    bare = [PYTHON, str(ROOT / "bench" / "bare_prompt.py")]
    kshell = kshell_argv()
    rss: dict[str, list[float]] = {"bare": [], "kshell": []}
    elapsed: dict[str, list[float]] = {"bare": [], "kshell": []}

    def case(name: str, argv: list[str], pattern: str):
        def run() -> None:
            elapsed[name].append(to_prompt(argv, pattern, env, rss[name]))

        return run

    case("kshell", kshell, r"kshell:\S+>")()  # warm the caches and the bytecode
    case("bare", bare, r"bare>")()
    for v in (*rss.values(), *elapsed.values(), *cpu.values()):
        v.clear()
    B, K = "bare prompt_toolkit PromptSession", "kshell"
    # Wall time to the prompt only (the settle time after it is not counted).
    interleaved({B: case("bare", bare, r"bare>"), K: case("kshell", kshell, r"kshell:\S+>")},
                RUNS, PER_RUN)  # fmt: skip
    got = {
        name: [elapsed[key][i * PER_RUN : (i + 1) * PER_RUN] for i in range(RUNS)]
        for name, key in ((B, "bare"), (K, "kshell"))
    }
    ratios = per_run(got[K], got[B], lambda k, b: k / b)
    rss_runs = [statistics.median(rss["kshell"][i * PER_RUN : (i + 1) * PER_RUN])
                for i in range(RUNS)]  # fmt: skip
    report(
        [
            (f"{B} to prompt", ms(got[B])),
            (f"{K} to prompt", ms(got[K])),
            ("cpu to the prompt: bare, kshell, ratio", cpu_line(bare[-1], kshell[-1])),
            ("bare RSS at prompt", f"{statistics.median(rss['bare']):.1f} MiB"),
            ("kshell RSS at prompt (sh imported)", f"{statistics.median(rss['kshell']):.1f} MiB"),
        ]
    )
    footer()
    ok = budget("start-up, kshell to prompt / bare PromptSession", LIMIT, "x", ratios)
    ok &= budget("start-up, kshell RSS at the prompt", RSS_LIMIT_MIB, "MiB", rss_runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
