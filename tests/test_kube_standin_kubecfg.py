"""kubecfg v0.3 itself, run directly: the stand-in, or the real one (KSHELL_TEST_KUBECFG).

What kshell relies on: the version line, -h before the verb with KUBERNETES_MASTER as the
fallback, glog F lines with exit 255, usage exits 1 and 2, tables and -json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from kubefixtures import kubecfg_binary

RESOURCES = "minions|pods|replicationControllers|services"
GLOG_F = re.compile(r"^F\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ kubecfg\.go:\d+\] ")


def kubecfg(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "KUBERNETES_MASTER"}
    return subprocess.run(
        [kubecfg_binary(), *args], capture_output=True, text=True, timeout=30,
        env={**full, **(env or {})},
    )  # fmt: skip


def test_version_usage_and_flag_errors():
    r = kubecfg("-version")
    assert (r.returncode, r.stdout) == (0, "Kubernetes v0.3\n")
    r = kubecfg()
    assert r.returncode == 1 and r.stderr.startswith("Usage: kubecfg -h [-c config/file.json]")
    r = kubecfg("-bogus", "list", "pods")
    assert r.returncode == 2 and r.stderr.startswith("flag provided but not defined: -bogus\n")
    r = kubecfg("-h")
    assert r.returncode == 2 and r.stderr.startswith("flag needs an argument: -h\n")


def test_master_from_h_or_kubernetes_master(apiserver):
    r = kubecfg("-h", apiserver.url, "list", "/minions")
    assert r.returncode == 0
    assert r.stdout == "Minion identifier\n----------\n10.0.0.5\n127.0.0.1\n\n"
    r = kubecfg("list", "minions", env={"KUBERNETES_MASTER": apiserver.url})
    assert r.returncode == 0 and "127.0.0.1" in r.stdout
    r = kubecfg("-h", apiserver.hostport, "-json", "list", "minions")  # no scheme: plain http
    assert json.loads(r.stdout)["kind"] == "MinionList"
    r = kubecfg("-h", apiserver.url, "-server_version")
    assert (r.returncode, r.stdout) == (0, "Server: Kubernetes v0.3\n")


def test_fatal_lines_exit_255(apiserver):
    for args, tail in (
        (("list", "bogus"), "usage: kubecfg [OPTIONS] list <" + RESOURCES + ">"),
        (("frob", "pods"), "Unknown command frob"),
        (("create", "pods"), "Need config file (-c)"),
        (("resize", "web", "x"), 'Error parsing replicas: strconv.Atoi: parsing "x": invalid '
                                 "syntax"),
    ):  # fmt: skip
        r = kubecfg("-h", apiserver.url, *args)
        assert r.returncode == 255, args
        line = r.stderr.strip().splitlines()[-1]
        assert GLOG_F.match(line) and line.endswith("] " + tail), line
    r = kubecfg("-h", apiserver.url, "get", "pods/nosuch")
    assert r.returncode == 255
    assert "Got request error: request [" in r.stderr
    assert r.stderr.rstrip().endswith(
        'failed (404) 404 Not Found: {"kind":"Status","creationTimestamp":null,"apiVersion":'
        '"v1beta1","status":"failure","message":"pod \\"nosuch\\" not found","reason":'
        '"not_found","details":{"id":"nosuch","kind":"pod"},"code":404}'
    )
