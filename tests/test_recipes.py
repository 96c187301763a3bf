"""`kshell run FILE`: the same grammar as the prompt, replayed from a file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def run(home, *args, env=None):
    full = {**os.environ, "KSHELL_HOME": str(home), "KSHELL_PLUGINS": "kube", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kshell", "run", *args],
        capture_output=True, text=True, env=full, timeout=60,
    )  # fmt: skip


@pytest.fixture
def recipe(tmp_path):
    def write(text, name="r.ksh"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def test_echo_continuation_variables_and_success(home, recipe):
    path = recipe("""\
        # set up the API server
        set MASTER=http://10.1.0.77:8080
        context set kube.master \\
            ${MASTER}
        context add ${NAME:-prod}
    """)
    r = run(home, str(path))
    assert r.returncode == 0, r.stderr
    assert f"{path}:3: context set kube.master http://10.1.0.77:8080" in r.stderr
    assert f"{path}:5: context add prod" in r.stderr
    assert "default: kube.master = http://10.1.0.77:8080" in r.stdout


def test_first_failure_stops_with_place_and_resume(home, recipe):
    path = recipe("""\
        context list
        use nowhere
        context add never-reached
    """)
    r = run(home, str(path))
    assert r.returncode == 2
    assert (
        f"kshell run: {path}:2: `use nowhere` failed with status 2; "
        f"fix it and resume with `kshell run {path} --from 2`"
    ) in r.stderr
    assert "never-reached" not in r.stdout
    r = run(home, str(path), "--from", "3")
    assert r.returncode == 0 and "added context never-reached" in r.stdout


def test_var_flag_and_unset_variable(home, recipe):
    path = recipe("context add ${NAME}\n")
    r = run(home, str(path))
    assert r.returncode == 2
    assert f"{path}:1: ${{NAME}} is not set; pass --var NAME=VALUE" in r.stderr
    r = run(home, str(path), "--var", "NAME=staging")
    assert r.returncode == 0 and "added context staging" in r.stdout


def test_unset_variable_named_twice_on_a_line_is_one_problem(home, recipe):
    # seed-context.ksh names ${ETCD} twice on one line: one problem, said once.
    path = recipe("context add x --set etcd.endpoint=${ETCD} --set fleet.endpoint=${ETCD}\n")
    r = run(home, str(path), "--dry-run")
    assert r.returncode == 2
    assert r.stderr.count("${ETCD} is not set") == 1, r.stderr
    assert "(nothing was run)" in r.stderr


def test_include_relative_and_cycles(home, recipe):
    recipe("context add from-include\n", name="part.ksh")
    main = recipe("include part.ksh\ncontext list\n")
    r = run(home, str(main))
    assert r.returncode == 0 and "from-include" in r.stdout
    recipe("include a.ksh\n", name="b.ksh")
    a = recipe("include b.ksh\n", name="a.ksh")
    r = run(home, str(a))
    assert r.returncode == 2 and "include cycle" in r.stderr


def test_dry_run_prints_argv_and_writes_nothing(home, recipe):
    path = recipe("""\
        context set kube.master http://10.1.0.77:8080
        kubecfg list /minions
    """)
    r = run(home, str(path), "--dry-run", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "+ kubecfg -h http://10.1.0.77:8080 list /minions" in r.stdout
    assert not (home / "config" / "config.yaml").exists()


def test_malformed_recipe_is_one_line(home, recipe):
    path = recipe("context list \\")
    r = run(home, str(path))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"kshell run: {path}:1: the file ends inside a `\\` continuation (nothing was run)"
    )
    r = run(home, str(path.with_name("missing.ksh")))
    assert r.returncode == 2 and "no such recipe file" in r.stderr


def test_missing_tool_installs_only_with_install_missing(home, recipe):
    from httpfixture import ReleaseServer, loopback_env, publish
    from kshell_plugins.kube.tools import KUBECFG

    server = ReleaseServer().start()
    try:
        publish(server, KUBECFG, "linux-amd64")
        env = loopback_env(os.environ, home, server.url)
        env["PATH"] = "/usr/bin:/bin"  # no kubecfg of the user's own
        path = recipe("kubecfg -version\n")
        r = run(home, str(path), env=env)
        assert r.returncode == 127
        assert "kubecfg 0.3 is not installed: run `bin install kubecfg`" in r.stderr
        assert server.count() == 0  # nothing downloaded without the flag
        r = run(home, str(path), "--install-missing", env=env)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "Kubernetes v0.3\n"
        assert "trust on first use" in r.stderr
        assert server.count() == 1
    finally:
        server.stop()
