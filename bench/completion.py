"""etcd key completion with 10 000 keys in a real etcd.

Budgets (issue 2): from the cache <= 10 ms; first fill <= 150 ms. The whole path is
measured: the prompt_toolkit completer on a Document, the command table, the etcd
plugin's completer, the stale-while-revalidate cache and the v2 HTTP API (etcd 0.4.6 from
../shared/real-tools when present). Each of RUNS runs opens a new session.
Run: .venv/bin/python bench/completion.py   (under a minute)
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time

from common import budget, etcd_binary, fill, footer, header, home_with, report

from kshell.sandbox import EtcdServer

KEYS = 10_000
RUNS = 5


def main() -> int:
    header(__doc__.splitlines()[0], RUNS, 20, {"etcd": etcd_binary()}, interleaved=False)
    with EtcdServer(etcd_binary()) as etcd:
        fill(etcd.url, "/bench", KEYS)
        os.environ["KSHELL_HOME"] = home_with(
            f"contexts:\n  default:\n    etcd.endpoint: {etcd.url}\n"
        )
        from prompt_toolkit.document import Document

        from kshell.completion import KshellCompleter
        from kshell.session import open_session

        text = "etcd get /bench/key01"
        firsts, cached = [], []
        for _ in range(RUNS):
            session = open_session(out=io.StringIO(), err=io.StringIO())
            session.cache.first_wait = 5.0  # measure the whole first fill, however long
            completer = KshellCompleter(session)
            t = time.perf_counter()
            got = list(completer.get_completions(Document(text), None))
            firsts.append(time.perf_counter() - t)
            assert len(got) == 1000, len(got)  # key01000 .. key01999
            cached.append([])
            for _ in range(20):
                t = time.perf_counter()
                got = list(completer.get_completions(Document(text), None))
                cached[-1].append(time.perf_counter() - t)
            assert len(got) == 1000
        every = []
        for _ in range(20):  # all 10 000 keys match; the completer shows the first 1000
            t = time.perf_counter()
            got = list(completer.get_completions(Document("etcd get /bench/"), None))
            every.append(time.perf_counter() - t)
    per_run = [statistics.median(run) * 1000 for run in cached]
    report(
        [
            ("keys in the directory", f"{KEYS}"),
            ("candidates for /bench/key01", "1000"),
            ("from cache, all 10 000 match (shows 1000)",
             f"{statistics.median(every) * 1000:.1f} ms"),
        ]
    )  # fmt: skip
    footer()
    ok = budget("completion, first fill (10 000 keys)", 150, "ms", [f * 1000 for f in firsts])
    ok &= budget("completion, from the cache (10 000 keys)", 10, "ms", per_run)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
