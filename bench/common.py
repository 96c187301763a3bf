"""Helpers shared by the benchmarks: timing, a throwaway etcd, a throwaway KSHELL_HOME."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def home_with(config: str = "") -> str:
    home = tempfile.mkdtemp(prefix="kshell-bench-")
    if config:
        (Path(home) / "config").mkdir()
        (Path(home) / "config" / "config.yaml").write_text(config)
    return home


def env_for(home: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ETCDCTL_PEERS", "FLEETCTL_ENDPOINT", "KUBERNETES_MASTER")
    }
    env.update(KSHELL_HOME=home, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40")
    return env


def report(rows: list[tuple[str, str]]) -> None:
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a.ljust(width)}  {b}")
