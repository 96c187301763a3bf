"""A 20 000-key listing to a file: `kshell -c 'etcd ls -r'` against the same call through sh.

`kshell -c 'etcd ls -r /bench'` over 20 000 keys, against the same etcdctl call from a
Python script through sh writing to a file.

Budget (issue 10, point 15): kshell adds <= 15% to the same call through sh. A shown tool's
output goes straight to the session's file descriptor, with no Python callback per chunk;
the in-process lines show that part alone, beside the per-chunk callback it replaced.
Also printed: the ratio to bash. Run: .venv/bin/python bench/stream.py   (about a minute)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from common import (
    PYTHON,
    ROOT,
    budget,
    env_for,
    etcd_binary,
    fill,
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
)  # fmt: skip

from kshell.sandbox import EtcdServer

KEYS = 20_000
RUNS, PER_RUN = 5, 3
LIMIT = 1.15


def main() -> int:
    etcdctl = pinned_etcdctl()
    header(__doc__.splitlines()[0], RUNS, PER_RUN, {"etcdctl": etcdctl})
    outdir = tempfile.mkdtemp(prefix="kshell-bench-out-")
    sink = os.path.join(outdir, "listing")
    with EtcdServer(etcd_binary()) as etcd:
        fill(etcd.url, "/bench", KEYS)
        home = home_with(
            f"contexts:\n  default:\n    etcd.endpoint: {etcd.url}\n"
            f"binaries:\n  etcdctl: {etcdctl}\n"
        )
        env = env_for(home)
        tool_env = {**env, "ETCDCTL_PEERS": etcd.url, "ETCDCTL_ENDPOINTS": etcd.url,
                    "ETCDCTL_API": "2"}  # fmt: skip
        call = [etcdctl, "ls", "--recursive", "--", "/bench"]  # what `etcd ls -r /bench` runs
        kshell = [*kshell_argv(), "-c", "etcd ls -r /bench"]
        script = [PYTHON, str(ROOT / "bench" / "through_sh.py"), *call]
        bash = ["bash", "-c", 'exec "$@"', "bash", *call]

        def to_file(argv: list[str], e: dict[str, str]) -> None:
            with open(sink, "wb") as f:
                subprocess.run(argv, env=e, stdout=f, stderr=subprocess.DEVNULL, check=True)

        for argv, e in ((kshell, env), (script, tool_env), (bash, tool_env)):
            to_file(argv, e)  # warm up, and check the whole listing arrives
            with open(sink) as f:
                assert sum(1 for _ in f) == KEYS, argv
        K, S, B = "kshell -c 'etcd ls -r'", "python script through sh", "etcdctl from bash"
        got = interleaved(
            {
                K: lambda: to_file(kshell, env),
                S: lambda: to_file(script, tool_env),
                B: lambda: to_file(bash, tool_env),
            },
            RUNS,
            PER_RUN,
        )
        inproc = in_process(etcd.url, home, etcdctl, call, tool_env, sink)
    ratio = median(got[K]) / median(got[S])
    report(
        [
            (f"listing of {KEYS} keys to a file", ""),
            *((name, ms(runs, name)) for name, runs in got.items()),
            ("ratio kshell / script through sh", f"{ratio:.2f}x"),
            ("ratio kshell / etcdctl from bash", f"{median(got[K]) / median(got[B]):.2f}x"),
            ("", ""),
            ("in one process, after start-up:", ""),
            *((f"  {name}", ms(runs)) for name, runs in inproc.items()),
        ]
    )
    footer()
    ok = budget(
        f"stream, kshell -c 'etcd ls -r' ({KEYS} keys) / the same call through sh to a file",
        LIMIT, "x", per_run(got[K], got[S], lambda x, y: x / y),
    )  # fmt: skip
    return 0 if ok else 1


def in_process(url, home, etcdctl, call, tool_env, sink) -> dict[str, list[list[float]]]:
    """The streaming alone: kshell's runner, sh writing to the file, sh with a callback per
    chunk (how kshell streamed before), all in this process with everything imported."""
    os.environ["KSHELL_HOME"] = home
    import sh

    from kshell.session import open_session

    session = open_session(err=sys.stderr)

    def runner() -> None:
        with open(sink, "w") as f:
            session.out = f
            assert session.run("etcdctl", call[1:]).status == 0

    def through_sh() -> None:
        with open(sink, "wb") as f:
            sh.Command(etcdctl)(*call[1:], _env=tool_env, _out=f)

    def callback() -> None:
        with open(sink, "w") as f:

            def write(chunk: str) -> None:
                f.write(chunk)
                f.flush()

            sh.Command(etcdctl)(*call[1:], _env=tool_env, _out=write, _tty_out=False)

    return interleaved(
        {
            "kshell's runner, straight to the file": runner,
            "sh writing to the file": through_sh,
            "sh, a Python callback per chunk (before)": callback,
        },
        RUNS,
        PER_RUN,
    )


if __name__ == "__main__":
    sys.exit(main())
