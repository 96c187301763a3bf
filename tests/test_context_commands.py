"""`context set/unset` change one key only; `env TOOL` shows what the tool inherits too."""

from __future__ import annotations

import io

import pytest

import kshell
from kshell import Setting, Tool, ToolEnv
from kshell.config import load_config
from kshell.dispatch import execute
from kshell.host import PluginHost
from kshell.session import ShellSession


class Demo:
    @kshell.hookimpl
    def kshell_settings(self, register):
        register(Setting("demo.endpoint", "where", default="http://127.0.0.1:1"))
        register(Setting("demo.level", "how much", default="1"))
        register(Setting("demo.token", "a secret", secret=True, env="DEMO_TOKEN"))

    @kshell.hookimpl
    def kshell_tools(self, register):
        register(Tool("democtl", "1.0", releases={}))
        register(Tool("democfg", "1.0", releases={}, env_prefixes=("DEMOAPI_",)))

    @kshell.hookimpl
    def kshell_tool_env(self, tool, context):
        if tool == "democtl":
            return ToolEnv(env={"DEMOCTL_ENDPOINT": context.get("demo.endpoint") or ""},
                           args=(f"--token={context.get('demo.token') or ''}",))  # fmt: skip
        return None


@pytest.fixture
def demo(home, monkeypatch):
    for var in ("DEMOCTL_ENDPOINT", "DEMOCTL_EXPERIMENTAL", "DEMOAPI_MASTER", "DEMO_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    host = PluginHost().load("")
    host.register(Demo(), "demo")
    out, err = io.StringIO(), io.StringIO()
    return ShellSession(host, load_config(), out=out, err=err), out, err


def test_context_set_changes_that_key_only_in_every_context(demo):
    session, out, err = demo
    assert execute(session, "context add prod --set demo.endpoint=http://10.0.0.1:1") == 0
    assert execute(session, "context set demo.level 3 --context prod") == 0
    assert execute(session, "context set demo.endpoint http://10.0.0.1:2") == 0
    config = load_config()
    assert config.contexts["prod"] == {"demo.endpoint": "http://10.0.0.1:1", "demo.level": "3"}
    assert config.contexts["default"] == {"demo.endpoint": "http://10.0.0.1:2"}
    assert execute(session, "context set demo.level 2 --context nowhere") == 2
    assert "no context named `nowhere`" in err.getvalue()
    assert "nowhere" not in load_config().contexts


def test_context_unset_of_a_key_not_held_says_so_and_fails(demo, home):
    session, out, err = demo
    assert execute(session, "context unset demo.level") == 1
    assert "context `default` does not set `demo.level` (its value comes from default)" in (
        err.getvalue()
    )
    assert not (home / "config" / "config.yaml").exists()  # nothing written
    assert execute(session, "context set demo.level 5") == 0
    assert execute(session, "context unset demo.level") == 0
    assert "default: demo.level unset (now 1 from default)" in out.getvalue()
    assert execute(session, "context unset demo.level") == 1


def test_env_lists_the_inherited_variables_the_tool_reads(demo, monkeypatch):
    session, out, err = demo
    monkeypatch.setenv("DEMOCTL_EXPERIMENTAL", "true")
    monkeypatch.setenv("DEMOCTL_ENDPOINT", "http://elsewhere:1")  # replaced by the context's
    monkeypatch.setenv("DEMOAPI_MASTER", "http://10.9.9.9:8080")
    monkeypatch.setenv("OTHER_THING", "x")
    assert execute(session, "env democtl democfg") == 0
    assert out.getvalue().splitlines() == [
        "democtl:",
        "  DEMOCTL_ENDPOINT=http://127.0.0.1:1",
        "  flags: --token=",
        "  DEMOCTL_EXPERIMENTAL=true  (inherited from your shell)",
        "democfg:",
        "  DEMOAPI_MASTER=http://10.9.9.9:8080  (inherited from your shell)",
    ]


def test_env_masks_secrets_wherever_they_show(demo, monkeypatch):
    session, out, err = demo
    assert execute(session, "context set demo.token tok-s3cr3t") == 0
    monkeypatch.setenv("DEMOCTL_TOKEN_COPY", "tok-s3cr3t")
    out.truncate(0), out.seek(0)
    assert execute(session, "env democtl") == 0
    text = out.getvalue()
    assert "s3cr3t" not in text
    assert "  flags: --token=****" in text
    assert "  DEMOCTL_TOKEN_COPY=****  (inherited from your shell)" in text


def test_env_of_an_unknown_tool_is_a_usage_error(demo):
    session, out, err = demo
    assert execute(session, "env nosuchctl") == 2
    assert "no tool named `nosuchctl`; known tools: democfg, democtl" in err.getvalue()


def test_env_shows_an_exported_fleetctl_variable(home, monkeypatch):
    """The case that bit: FLEETCTL_EXPERIMENTAL_API made fleetctl fail, `env` showed nothing."""
    monkeypatch.setenv("KSHELL_PLUGINS", "fleet,kube")
    monkeypatch.setenv("FLEETCTL_EXPERIMENTAL_API", "true")
    monkeypatch.setenv("KUBERNETES_PROVIDER", "vagrant")
    out = io.StringIO()
    session = ShellSession(PluginHost().load(), load_config(), out=out, err=io.StringIO())
    assert execute(session, "env") == 0
    text = out.getvalue()
    assert "  FLEETCTL_EXPERIMENTAL_API=true  (inherited from your shell)" in text
    assert "  KUBERNETES_PROVIDER=vagrant  (inherited from your shell)" in text
