"""The progress bar: drawn on a terminal (a real pty), absent on a pipe."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys

import pexpect
import pytest
from httpfixture import ReleaseServer, loopback_env, publish, release_archive
from kshell_plugins.fleet.tools import FLEETCTL

from kshell.install.progress import Progress, human_bytes

PROGRAM = """
from kshell.install import install
from kshell_plugins.fleet.tools import FLEETCTL
print("DONE", install(FLEETCTL).path)
"""

BAR = re.compile(
    r"fleet-v0\.8\.1-linux-amd64\.tar\.gz\s+[\d.]+ (?:KiB|MiB) / [\d.]+ (?:KiB|MiB)\s+100%"
    r"\s+[\d.]+ (?:B|KiB|MiB|GiB)/s"
)


@pytest.fixture
def server():
    s = ReleaseServer().start()
    # A few MiB that gzip cannot shrink, so the bar has something to count.
    noise = random.Random(7).randbytes(3 << 20)
    publish(s, FLEETCTL, "linux-amd64", release_archive(FLEETCTL, "linux-amd64", extra=noise))
    yield s
    s.stop()


@pytest.mark.slow
def test_progress_bar_on_a_terminal(server, home):
    env = loopback_env(os.environ, home, server.url)
    env["TERM"] = "dumb"
    child = pexpect.spawn(sys.executable, ["-c", PROGRAM], env=env, timeout=60)
    child.expect(r"DONE (\S+)")
    text = child.before.decode(errors="replace")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, text
    assert BAR.search(text), text
    assert "\r" in text  # redrawn in place
    assert server.count() == 1


@pytest.mark.slow
def test_quiet_without_a_terminal(server, home):
    env = loopback_env(os.environ, home, server.url)
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("DONE ")
    assert "/s" not in proc.stderr and "\r" not in proc.stderr
    # Only the plain trust-on-first-use line.
    assert proc.stderr.strip().splitlines() == [
        line for line in proc.stderr.strip().splitlines() if "trust on first use" in line
    ]


def test_progress_line_has_bytes_rate_and_eta():
    import io

    stream = io.StringIO()
    bar = Progress("x.tar.gz", 4 << 20, enabled=True, stream=stream, interval=0)
    bar.update(1 << 20)
    line = stream.getvalue().split("\r")[-1]
    assert "x.tar.gz" in line and "1.0 MiB / 4.0 MiB" in line and " 25%" in line
    assert "/s" in line and "ETA " in line
    bar.update(3 << 20)
    bar.done()
    assert stream.getvalue().endswith("\n")
    assert "100%" in stream.getvalue().split("\r")[-1]


def test_disabled_progress_writes_nothing():
    import io

    stream = io.StringIO()
    bar = Progress("x", 10, enabled=False, stream=stream)
    bar.update(5)
    bar.done()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    "n, text", [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (5 << 20, "5.0 MiB")]
)
def test_human_bytes(n, text):
    assert human_bytes(n) == text
