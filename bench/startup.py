"""Time from start to prompt in a pty, and resident memory at the prompt.

Budgets (issue 2): start-up <= 1.3x a bare prompt_toolkit PromptSession script;
resident memory at the prompt <= 35 MiB. Run: .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import time

import pexpect
from common import PYTHON, ROOT, env_for, home_with, median_ms, report

REPEAT = 15


def to_prompt(argv: list[str], pattern: str, env: dict[str, str]) -> tuple[float, int]:
    t = time.perf_counter()
    child = pexpect.spawn(
        argv[0], argv[1:], env=env, encoding="utf-8", timeout=30, dimensions=(40, 120)
    )
    child.expect(pattern)
    elapsed = time.perf_counter() - t
    time.sleep(0.3)  # let background refreshes settle before reading RSS
    with open(f"/proc/{child.pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return elapsed, rss


def main() -> None:
    home = home_with()
    env = env_for(home)
    bare = [PYTHON, str(ROOT / "bench" / "bare_prompt.py")]
    kshell = [PYTHON, "-m", "kshell"]
    to_prompt(kshell, r"kshell:\S+>", env)  # warm the entry-point cache and the page cache
    bare_t, bare_rss, ks_t, ks_rss = [], [], [], []
    for _ in range(REPEAT):  # interleaved so machine load hits both alike
        t, r = to_prompt(bare, r"bare>", env)
        bare_t.append(t), bare_rss.append(r)
        t, r = to_prompt(kshell, r"kshell:\S+>", env)
        ks_t.append(t), ks_rss.append(r)
    b, k = median_ms(bare_t), median_ms(ks_t)
    rss = sorted(ks_rss)[len(ks_rss) // 2] / 1024
    report(
        [
            ("bare PromptSession to prompt", f"{b:.0f} ms"),
            ("kshell to prompt", f"{k:.0f} ms"),
            ("ratio (budget <= 1.30)", f"{k / b:.2f}"),
            ("bare RSS at prompt", f"{sorted(bare_rss)[len(bare_rss) // 2] / 1024:.1f} MiB"),
            ("kshell RSS at prompt (budget <= 35 MiB)", f"{rss:.1f} MiB"),
        ]
    )


if __name__ == "__main__":
    main()
