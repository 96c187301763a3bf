"""Helpers shared by the benchmarks: the pinned tools, a throwaway etcd and KSHELL_HOME,
interleaved timing, and one summary line per budget.

Every benchmark runs its cases interleaved (A B C, A B C, ...; the order rotates) so that
load on the machine hits them alike, in several runs; it prints the median of all samples
and the range of the runs' medians, and says how loaded the machine was.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
REAL_TOOLS = ROOT.parent / "shared" / "real-tools" / "bin"  # the pinned 2014 builds


def _real(name: str) -> str | None:
    path = REAL_TOOLS / name
    return str(path) if os.access(path, os.X_OK) else None


def pinned_etcdctl() -> str:
    """etcdctl 0.4.6 from ../shared/real-tools when present, else the one found."""
    found = _real("etcdctl") or shutil.which("etcdctl")
    if not found:
        from kshell.sandbox import find_etcd

        etcd = find_etcd()
        found = str(Path(etcd).with_name("etcdctl")) if etcd else None
    if not found:
        sys.exit("no etcdctl: put the pinned one in ../shared/real-tools/bin or on PATH")
    return found


def etcd_binary() -> str | None:
    """etcd 0.4.6 from ../shared/real-tools when present, else kshell's sandbox choice."""
    from kshell.sandbox import find_etcd

    return _real("etcd") or find_etcd()


def version_of(binary: str) -> str:
    env = {**os.environ, "ETCDCTL_API": "2"}  # etcdctl 3.x: the v2 flags and version line
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10,
                         env=env)  # fmt: skip
    return (out.stdout or out.stderr).strip().splitlines()[0]


def kshell_argv() -> list[str]:
    """`kshell` as a user runs it: the console script beside this Python."""
    script = Path(PYTHON).with_name("kshell")
    return [str(script)] if os.access(script, os.X_OK) else [PYTHON, "-m", "kshell"]


def fill(url: str, prefix: str, count: int) -> None:
    def put(i: int) -> None:
        req = urllib.request.Request(
            f"{url}/v2/keys{prefix}/key{i:05d}", data=f"value=v{i}".encode(), method="PUT"
        )
        urllib.request.urlopen(req).read()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(count)))


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
        if not k.startswith(("ETCDCTL_", "FLEETCTL_", "KSHELL_")) and k != "KUBERNETES_MASTER"
    }
    # Bytecode is written and used, as in an installed kshell (pip compiles it): without it
    # every start compiles kshell's sources again (~35 ms here).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(KSHELL_HOME=home, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40")
    return env


# -- timing ---------------------------------------------------------------------------------


CPU: dict[str, list[list[float]]] = {}
"""CPU seconds (user + system) of the child processes of each case, beside the wall times
that ``interleaved`` returns: far less sensitive to a loaded machine."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interleaved(
    cases: dict[str, Callable[[], object]], runs: int, per_run: int
) -> dict[str, list[list[float]]]:
    """Time each case ``per_run`` times in each of ``runs`` runs, interleaved; seconds."""
    names = list(cases)
    samples: dict[str, list[list[float]]] = {n: [] for n in names}
    for _ in range(runs):
        for n in names:
            samples[n].append([])
            CPU.setdefault(n, []).append([])
        for i in range(per_run):
            for n in names[i % len(names) :] + names[: i % len(names)]:  # rotate the order
                c = _children_cpu()
                t = time.perf_counter()
                cases[n]()
                samples[n][-1].append(time.perf_counter() - t)
                CPU[n][-1].append(_children_cpu() - c)
    return samples


def run_argv(argv: Sequence[str], env: dict[str, str], stdout=subprocess.DEVNULL) -> None:
    subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.DEVNULL, check=True)


def flat(runs: list[list[float]]) -> list[float]:
    return [s for run in runs for s in run]


def median(runs: list[list[float]]) -> float:
    return statistics.median(flat(runs))


def run_medians(runs: list[list[float]]) -> list[float]:
    return [statistics.median(run) for run in runs]


def ms(runs: list[list[float]], name: str | None = None) -> str:
    """'123 ms (runs 110-140)': the median of all samples, the range of the runs' medians;
    with ``name``, the CPU time of that case's processes too."""
    m = run_medians(runs)
    text = f"{median(runs) * 1000:.0f} ms (runs {min(m) * 1000:.0f}-{max(m) * 1000:.0f})"
    if name in CPU:
        text += f", cpu {median(CPU[name]) * 1000:.0f} ms"
    return text


def per_run(a: list[list[float]], b: list[list[float]], op: Callable[[float, float], float]):
    """op(a, b) on the medians of each run: the figure as each run saw it."""
    return [op(x, y) for x, y in zip(run_medians(a), run_medians(b), strict=True)]


# -- reporting ------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {load:.1f}"
    )


def header(
    title: str, runs: int, per_run: int, tools: dict[str, str], interleaved: bool = True
) -> None:
    print(title)
    print(f"machine: {machine()} (at start)")
    kind = "interleaved runs" if interleaved else "runs"
    print(f"runs: {runs} {kind} of {per_run} samples per case")
    for name, path in tools.items():
        print(f"{name}: {path} ({version_of(path)})")
    print()


def report(rows: list[tuple[str, str]]) -> None:
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a.ljust(width)}  {b}")


def budget(name: str, limit: float, unit: str, runs: list[float]) -> bool:
    """One summary line: BUDGET name: the median of the runs' figures (their range), the
    budget, met or NOT MET."""
    measured = statistics.median(runs)
    ok = measured <= limit

    def f(v: float) -> str:
        return f"{v:.2f}{unit}" if unit == "x" else f"{v:.1f} {unit}"

    print(
        f"BUDGET {name}: {f(measured)} (runs {f(min(runs))} to {f(max(runs))}), "
        f"budget <= {f(limit)}: {'met' if ok else 'NOT MET'}"
    )
    return ok


def footer() -> None:
    print(f"machine: load average {os.getloadavg()[0]:.1f} at the end")
