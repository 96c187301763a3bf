"""The config file is checked when it is loaded, with the validators of `context set`.

Bad stored values and unknown keys are said once, with file:line, and bad values are not
used; environment overrides are checked the same way; malformed YAML names the line where
the broken construct begins and where the parser gave up.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap

import pytest

import kshell
from kshell import Setting
from kshell.config import load_config
from kshell.host import PluginHost
from kshell.session import ShellSession


def run_kshell(home, *args, env=None, input=None):
    full = {**os.environ, "KSHELL_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "kshell", *args], capture_output=True,
                          text=True, env=full, timeout=60, input=input)  # fmt: skip


def write_config(home, text: str):
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(textwrap.dedent(text))
    return cfg


BAD = """\
current: default
contexts:
  default:
    etcd.endpoint: ftp://10.1.1.245:4001
    kube.master: http://10.1.0.77:8080
    etcd.endpiont: http://10.1.1.245:4001
  prod:
    kube.master: ftp://10.1.0.77
mirrors: http://mirror.example
"""


def test_bad_stored_values_are_said_once_with_file_line_and_not_used(home):
    cfg = write_config(home, BAD)
    r = run_kshell(home, "-c", "context", env={"KSHELL_PLUGINS": "etcd,kube"})
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    invalid = [line for line in err if f"{cfg}:4: context `default`: invalid etcd.endpoint" in line]
    assert len(invalid) == 1, r.stderr
    assert "ftp://10.1.1.245:4001" in invalid[0] and "http:// or https://" in invalid[0]
    assert "not used" in invalid[0] and "context set etcd.endpoint VALUE" in invalid[0]
    unknown = f"{cfg}:6: context `default`: unknown setting `etcd.endpiont`"
    assert sum(unknown in x for x in err) == 1
    assert sum(f"{cfg}:8: context `prod`: invalid kube.master" in x for x in err) == 1
    assert sum(f"{cfg}:9: unknown key `mirrors`" in x for x in err) == 1
    assert len(err) == 4, r.stderr
    # not used: the default applies, and `context` says why
    out = r.stdout
    assert re.search(r"etcd\.endpoint\s+http://127\.0\.0\.1:4001\s+default", out)
    assert not re.search(r"etcd\.endpoint\s+ftp://", out)
    assert "note: the stored etcd.endpoint is not used" in out
    assert re.search(r"kube\.master\s+http://10\.1\.0\.77:8080\s+context", out)  # a good one stays
    assert "etcd.endpiont" in out  # an unknown key stays visible (and in the file)
    assert cfg.read_text() == textwrap.dedent(BAD)  # the file is never rewritten by a check


def test_a_bad_value_is_not_used_by_the_tools(home):
    write_config(home, BAD)
    r = run_kshell(home, "-c", "env etcdctl kubecfg", env={"KSHELL_PLUGINS": "etcd,kube"})
    assert "ETCDCTL_PEERS=http://127.0.0.1:4001" in r.stdout
    assert "flags: -h http://10.1.0.77:8080" in r.stdout  # kubecfg gets the master as -h


def test_the_checks_are_said_once_in_an_interactive_session(home):
    """One report per run, however often the config is read again after changes."""
    write_config(home, BAD)
    lines = "context set kube.master http://10.1.0.78:8080\ncontext\nuse prod\nuse default\n"
    r = run_kshell(home, env={"KSHELL_PLUGINS": "etcd,kube"}, input=lines)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("invalid etcd.endpoint") == 1
    assert "note: the stored etcd.endpoint is not used" in r.stdout  # still left out


def test_unset_removes_an_invalid_stored_value(home):
    cfg = write_config(home, BAD)
    r = run_kshell(home, "-c", "context unset etcd.endpoint", env={"KSHELL_PLUGINS": "etcd,kube"})
    assert r.returncode == 0, r.stderr
    assert "etcd.endpoint: ftp://" not in cfg.read_text()
    assert "kube.master: http://10.1.0.77:8080" in cfg.read_text()


@pytest.mark.parametrize(
    ("var", "value", "setting"),
    [
        ("KUBERNETES_MASTER", "ftp://nowhere", "kube.master"),
        ("ETCDCTL_PEERS", "http://user:pw@10.0.0.1:4001", "etcd.endpoint"),
    ],
)
def test_a_bad_environment_override_is_said_and_not_used(home, var, value, setting):
    write_config(home, "contexts:\n  default:\n    kube.master: http://10.1.0.77:8080\n")
    r = run_kshell(home, "-c", "context", env={"KSHELL_PLUGINS": "etcd,kube", var: value})
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if f"${var}" in line]
    assert len(said) == 1, r.stderr
    assert f"is not a valid {setting}" in said[0] and "ignored" in said[0]
    assert f"env {var}" not in r.stdout
    shown = value.replace(":pw@", ":****@")  # a password in a URL is never shown
    assert f"note: ${var}={shown} is not a valid {setting}" in r.stdout  # `context` says why
    assert ":pw@" not in r.stdout + r.stderr


class Secrets:
    @kshell.hookimpl
    def kshell_settings(self, register):
        def no_password(value: str) -> str:
            if "@" in value:
                raise ValueError(f"`{value}` must not carry a user name or password")
            return value

        def token(value: str) -> str:
            if not value.startswith("tok-"):
                raise ValueError("must start with tok-")
            return value

        register(Setting("demo.token", "API token", secret=True, validate=token,
                         env="DEMO_TOKEN"))  # fmt: skip
        register(Setting("demo.level", "How much", default="1"))
        register(Setting("demo.endpoint", "A URL", validate=no_password))


def make_session(home) -> tuple[ShellSession, io.StringIO, io.StringIO]:
    host = PluginHost().load("")
    host.register(Secrets(), "demo")
    out, err = io.StringIO(), io.StringIO()
    return ShellSession(host, load_config(), out=out, err=err), out, err


def test_a_bad_secret_is_reported_masked(home, monkeypatch):
    write_config(home, "contexts:\n  default:\n    demo.token: hunter2\n")
    monkeypatch.setenv("DEMO_TOKEN", "s3cr3t-env")
    session, out, err = make_session(home)
    text = err.getvalue()
    assert "invalid demo.token `****`" in text and "must start with tok-" in text
    assert "$DEMO_TOKEN=**** is not a valid demo.token" in text
    assert "hunter2" not in text and "s3cr3t-env" not in text
    assert session.context.get("demo.token") is None


@pytest.mark.parametrize(
    ("text", "begins", "gave_up"),
    [
        ('contexts:\n  default:\n    etcd.endpoint: "http://x\n  other:\n    a: b\n\n', 3, 7),
        ("contexts:\n  default:\n    etcd.endpoint: http://x\n   bad: 1\nmirror: y\n", 2, 4),
        ("contexts:\n  default: {a: b\nmirror: x\n", 2, 3),
    ],
)
def test_malformed_yaml_names_where_the_construct_begins_and_where_it_broke(
    home, text, begins, gave_up
):
    cfg = write_config(home, text)
    r = run_kshell(home, "-c", "help")
    assert r.returncode == 78
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"kshell: {cfg}:{begins}: malformed YAML: "), r.stderr
    assert f"begins at line {begins}" in r.stderr and f"at line {gave_up}" in r.stderr
    assert cfg.read_text() == text


# -- history: a rejected secret line is never kept ---------------------------------------------


def _run_loop(session, keys: str) -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from kshell.repl import repl

    with create_pipe_input() as inp:
        inp.send_text(keys)
        with create_app_session(input=inp, output=DummyOutput()):
            repl(session)


@pytest.mark.parametrize(
    "line",
    [
        "context set demo.token=tok-s3cr3t",  # KEY=VALUE: a usage error
        "context set demo.tokn tok-s3cr3t",  # a mistyped secret: an unknown setting
        "context set DEMO.TOKEN tok-s3cr3t",
        "context set demo.token s3cr3t",  # fails the validator
        "context add prod --set demo.tokn=tok-s3cr3t",
        "context set demo.endpoint http://admin:s3cr3t@10.0.0.1:4001",  # refused: a password
    ],
)
def test_a_rejected_context_set_that_may_hold_a_secret_never_reaches_history(home, line):
    from kshell import paths
    from kshell.history import read_history

    session, out, err = make_session(home)
    _run_loop(session, f"{line}\rcontext set demo.level x7\rcontext list\rexit\r")
    assert "s3cr3t" not in paths.history_file().read_text()
    assert read_history() == ["context set demo.level x7", "context list", "exit"]
