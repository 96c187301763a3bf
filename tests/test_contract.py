"""The plugin contract: failing hooks, one masking function, settings, status/doctor truth."""

from __future__ import annotations

import io
import re
import textwrap

import pytest

from kshell import Check, Command, CommandError, Setting, Tool, ToolEnv, hookimpl
from kshell.config import load_config
from kshell.dispatch import execute
from kshell.host import PluginHost
from kshell.logfile import log_path
from kshell.session import ShellSession

TOKEN = "s3cr3t-T0ken"


def make_session(plugins=(), **kw):
    host = PluginHost().load(only="")
    for name, plugin in plugins:
        host.register(plugin, name)
    out, err = io.StringIO(), io.StringIO()
    return ShellSession(host, load_config(), out=out, err=err, **kw), out, err


@pytest.fixture
def recorder(tmp_path):
    """A tool that records its argv and environment, echoes its arguments on stderr."""
    log = tmp_path / "recorder.log"
    script = tmp_path / "recorder"
    script.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        echo "argv: $*" >> {log}
        echo "env: $REC_ENDPOINT $REC_AUTH" >> {log}
        echo "recorder: bad arguments: $*" >&2
        exit ${{EXIT:-0}}
    """)
    )
    script.chmod(0o755)
    return script, log


class Rec:
    """Pins `recorder`, points it at the context's endpoint, carries a secret token."""

    @hookimpl
    def kshell_settings(self, register):
        register(Setting("rec.endpoint", "where", default="http://127.0.0.1:9"))
        register(Setting("rec.token", "API token", secret=True, env="REC_TOKEN"))

    @hookimpl
    def kshell_tools(self, register):
        register(Tool("recorder", "1.0", releases={}))

    @hookimpl
    def kshell_tool_env(self, tool, context):
        if tool != "recorder":
            return None
        token = context.get("rec.token") or ""
        # The secret travels in another variable and in a flag, not in REC_TOKEN.
        return ToolEnv(
            env={"REC_ENDPOINT": context.get("rec.endpoint"), "REC_AUTH": f"Bearer {token}"},
            args=("--endpoint", context.get("rec.endpoint"), f"--token={token}"),
        )

    @hookimpl
    def kshell_commands(self, register):
        def run(session, args):
            return session.run("recorder", args.words).status

        def fail(session, args):
            raise CommandError(f"the server refused token {session.context.get('rec.token')}")

        def crash(session, args):
            raise RuntimeError(f"bug while using {session.context.get('rec.token')}")

        register(Command("rec run", "run it", run,
                         arguments=lambda p: p.add_argument("words", nargs="*")))  # fmt: skip
        register(Command("rec fail", "fails", fail))
        register(Command("rec crash", "crashes", crash))


class BadEnv:
    @hookimpl
    def kshell_tool_env(self, tool, context):
        raise RuntimeError("cannot compute the flags")


@pytest.fixture
def rec(home, recorder):
    script, log = recorder
    session, out, err = make_session([("rec", Rec())])
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(recorder=str(script)))
    return session, out, err, log


# -- issue 11.1: a failing tool_env hook never runs the tool -------------------------------------


def test_failing_tool_env_stops_the_command_and_names_the_plugin(rec):
    session, out, err, log = rec
    session.host.register(BadEnv(), "badenv")
    assert execute(session, "rec run hello") == 70
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "rec run: plugin badenv: kshell_tool_env failed: RuntimeError: cannot compute the flags;"
        " nothing was run"
    )
    assert not log.exists()  # the tool never ran, not even without its flags
    assert "RuntimeError: cannot compute the flags" in log_path().read_text()  # traceback kept
    # The raw form, `env` and a dry run say the same instead of guessing.
    for line in ("env recorder",):
        err.truncate(0), err.seek(0)
        assert execute(session, line) == 70
        assert "plugin badenv: kshell_tool_env failed" in err.getvalue()
    dry, _, derr = make_session([("rec", Rec()), ("badenv", BadEnv())], dry_run=True)
    assert execute(dry, "rec run hello") == 70
    assert "plugin badenv: kshell_tool_env failed" in derr.getvalue()


def test_working_tool_env_still_applies(rec):
    session, out, err, log = rec
    assert execute(session, "rec run hello") == 0
    assert "argv: --endpoint http://127.0.0.1:9 --token= hello" in log.read_text()


class BrokenTools:
    @hookimpl
    def kshell_tools(self, register):
        raise RuntimeError("no table today")

    @hookimpl
    def kshell_commands(self, register):
        register(Command("broken run", "run the tool it meant to pin",
                         lambda s, a: s.run("recorder", []).status))  # fmt: skip


def test_failing_tools_hook_never_runs_an_unpinned_binary(home, recorder, monkeypatch):
    script, log = recorder
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")  # a `recorder` is on PATH
    session, out, err = make_session([("broken", BrokenTools())])
    assert execute(session, "broken run") == 70
    assert "plugin broken: kshell_tools failed: RuntimeError: no table today" in err.getvalue()
    assert not log.exists()
    err.truncate(0), err.seek(0)
    assert execute(session, "bin install recorder") == 70
    assert "plugin broken: kshell_tools failed" in err.getvalue()


# -- issue 11.2: one masking function, wherever a secret could show ------------------------------


def test_mask_secrets_replaces_every_occurrence_longest_first():
    from kshell.masking import mask_secrets

    assert mask_secrets("a abcd b abcdef", ["abcd", "abcdef", ""]) == "a **** b ****"
    assert mask_secrets("nothing here", []) == "nothing here"


def test_env_masks_the_secret_in_every_variable_and_flag(rec):
    session, out, err, _ = rec
    assert execute(session, f"context set rec.token {TOKEN}") == 0
    out.truncate(0), out.seek(0)
    assert execute(session, "env recorder") == 0
    shown = out.getvalue()
    assert TOKEN not in shown
    assert "REC_AUTH=Bearer ****" in shown
    assert "--token=****" in shown
    assert "REC_ENDPOINT=http://127.0.0.1:9" in shown  # the rest as it is


def test_env_override_of_a_secret_is_masked_too(rec, monkeypatch):
    session, out, err, _ = rec
    monkeypatch.setenv("REC_TOKEN", "from-the-env-123")
    assert execute(session, "env recorder") == 0
    assert "from-the-env-123" not in out.getvalue()
    assert "--token=****" in out.getvalue()


def test_dry_run_echo_masks_the_secret(rec):
    session, out, err, _ = rec
    assert execute(session, f"context set rec.token {TOKEN}") == 0
    dry, dout, derr = make_session([("rec", Rec())], dry_run=True)
    assert execute(dry, "rec run hi") == 0
    assert "--token=****" in dout.getvalue() and "REC_AUTH='Bearer ****'" in dout.getvalue()
    assert TOKEN not in dout.getvalue() + derr.getvalue()


def test_a_tools_stderr_echoing_the_secret_is_masked(rec):
    session, out, err, log = rec
    assert execute(session, f"context set rec.token {TOKEN}") == 0
    assert execute(session, "rec run x") == 0
    assert TOKEN in log.read_text()  # the tool itself got the real value
    assert "recorder: bad arguments: --endpoint http://127.0.0.1:9 --token=**** x" in (
        err.getvalue()
    )
    assert TOKEN not in err.getvalue()


def test_error_lines_and_the_log_mask_the_secret(rec):
    session, out, err, _ = rec
    assert execute(session, f"context set rec.token {TOKEN}") == 0
    assert execute(session, "rec fail") == 1
    assert "rec fail: the server refused token ****" in err.getvalue()
    assert execute(session, "rec crash") == 70
    assert "bug while using ****" in err.getvalue()
    assert TOKEN not in err.getvalue()
    text = log_path().read_text()
    assert "bug while using ****" in text and TOKEN not in text


def test_context_toolbar_and_history_mask_the_secret(rec):
    from kshell import history
    from kshell.repl import _make_history, toolbar_parts

    session, out, err, _ = rec
    assert execute(session, f"context set rec.token {TOKEN}") == 0
    assert execute(session, "context") == 0
    assert TOKEN not in out.getvalue()
    # A secret typed where no setting is named (a raw tool's flag) never reaches history.
    stored = history.store(session, f"recorder --token {TOKEN}")
    assert stored == "recorder --token ****"
    h = _make_history(session)
    h.append_string(f"rec run {TOKEN}")
    h.settle(0)  # the line ran: now it is stored
    assert h.get_strings()[-1] == "rec run ****"
    from kshell import paths

    assert TOKEN.encode() not in paths.history_file().read_bytes()

    class Bar:
        @hookimpl
        def kshell_settings(self, register):
            register(Setting("fleet.endpoint", "where"))

    session.host.register(Bar(), "fleet")
    session.update_config(
        lambda raw: raw["contexts"]["default"].update({"fleet.endpoint": f"http://u:{TOKEN}@h"})
    )
    text = "".join(t for _, t in toolbar_parts(session))
    assert "fleet.endpoint" in text and TOKEN not in text and "http://u:****@h" in text


# -- issue 10.9: settings, cached keys, failures logged and shown --------------------------------


class Twice:
    @hookimpl
    def kshell_settings(self, register):
        register(Setting("rec.endpoint", "mine too"))
        register(Setting("endpoint", "no plugin prefix"))
        register(Setting("other.thing", "another plugin's name"))
        register(Setting("twice.ok", "fine"))


def test_setting_registered_twice_or_misnamed_is_reported(home):
    session, out, err = make_session([("rec", Rec()), ("twice", Twice())])
    errors = session.host.plugins["twice"].errors
    assert "setting `rec.endpoint` is already provided by rec; skipped" in errors
    assert "setting `endpoint` must be named `twice.NAME` (lowercase); skipped" in errors
    assert "setting `other.thing` must be named `twice.NAME` (lowercase); skipped" in errors
    assert session.host.settings["rec.endpoint"].help == "where"  # the first one wins
    assert "twice.ok" in session.host.settings and "endpoint" not in session.host.settings
    assert execute(session, "plugins") == 0
    assert "setting `rec.endpoint` is already provided by rec" in out.getvalue()
    # Reported once, however often the host re-collects.
    session.host.register(FailingCompleter(), "fc")
    assert errors.count("setting `rec.endpoint` is already provided by rec; skipped") == 1


def test_cached_keys_are_per_context(home):
    session, out, err = make_session([("rec", Rec())])
    session.update_config(lambda raw: raw.setdefault("contexts", {}).update(prod={}))
    assert session.cached("k", lambda: "default's", ttl=60) == "default's"
    session.use("prod")
    assert session.cached("k", lambda: "prod's", ttl=60) == "prod's"
    session.use("default")
    assert session.cached("k", lambda: "again", ttl=60) == "default's"


class FailingCompleter:
    @hookimpl
    def kshell_commands(self, register):
        def broken(session, prefix):
            raise KeyError("the cache went away")

        register(Command("fc go", "go", lambda s, a: 0,
                         arguments=lambda p: p.add_argument("thing"),
                         completers={"thing": broken}))  # fmt: skip


def test_failing_completer_is_logged_and_shown_by_plugins(home):
    from kshell.completion import complete

    session, out, err = make_session([("fc", FailingCompleter())])
    for _ in range(3):
        assert complete(session, "fc go x") == []  # typing goes on
    assert execute(session, "plugins") == 0
    assert "completer of `fc go thing` failed: KeyError: 'the cache went away' (3x)" in (
        out.getvalue()
    )
    assert "tracebacks of the failures:" in out.getvalue()
    log = log_path().read_text()
    assert "plugin fc: completer of `fc go thing`" in log and "Traceback" in log


# -- issue 10.5: status and doctor tell the truth about a missing pinned tool -------------------


class NeedsMissing:
    @hookimpl
    def kshell_tools(self, register):
        register(Tool("nowhere-tool", "0.8.1", releases={}))

    @hookimpl
    def kshell_status(self, session):
        return [f"units: {session.run('nowhere-tool', ['list'], capture=True).stdout}"]

    @hookimpl
    def kshell_checks(self, session):
        session.run("nowhere-tool", ["list"], capture=True)
        return [Check("units", "ok", "listed")]


def test_missing_pinned_tool_is_a_finding_with_its_fix(home, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    session, out, err = make_session([("needs", NeedsMissing())])
    assert execute(session, "doctor") == 0  # a warning, not a failure
    first = out.getvalue()
    assert "[WARN] needs: nowhere-tool: the pinned nowhere-tool 0.8.1 is not installed" in first
    assert "fix: bin install nowhere-tool" in first
    assert "kshell_checks failed" not in first and "FAIL" not in first
    out.truncate(0), out.seek(0)
    assert execute(session, "status") == 0
    status = out.getvalue()
    assert "needs: nowhere-tool 0.8.1 is not installed; `bin install nowhere-tool`" in status
    assert "kshell_status failed" not in status
    assert session.host.plugins["needs"].errors == []
    out.truncate(0), out.seek(0)
    assert execute(session, "doctor") == 0
    assert out.getvalue() == first  # the same answer whether or not status ran before


def test_every_fix_doctor_prints_names_a_command(home, monkeypatch):
    """A plugin bug and a load error get a fix too: where to look, what to run."""

    class Raising:
        @hookimpl
        def kshell_checks(self, session):
            raise ValueError("boom")

    session, out, err = make_session([("raising", Raising())])
    assert execute(session, "doctor") == 1
    text = out.getvalue()
    assert "[FAIL] raising: checks: kshell_checks failed: ValueError: boom" in text
    assert "fix: `plugins` shows it; update or remove the plugin raising" in text


# -- issue 10.8: the public API module documents every hook -----------------------------------


def test_every_hook_is_documented_in_the_public_api_with_its_signature():
    import inspect

    import kshell
    from kshell import hookspecs

    doc = kshell.__doc__
    specs = [n for n in dir(hookspecs) if n.startswith("kshell_")]
    assert len(specs) == 7
    for name in specs:
        sig = inspect.signature(getattr(hookspecs, name))
        params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
        assert f"``{name}({params}) -> {sig.return_annotation}``" in doc, name
    for name in kshell.__all__:
        assert getattr(kshell, name) is not None


# -- issue 10.10: kshell-hello, a third-party plugin using every hook and the etcd API ---------


@pytest.fixture(scope="module")
def hello_site(tmp_path_factory):
    import subprocess
    import sys
    from pathlib import Path

    target = tmp_path_factory.mktemp("hello-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(Path(__file__).parent / "thirdparty" / "kshell-hello"),
         str(Path(__file__).parent / "thirdparty" / "kshell-broken")],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def test_kshell_hello_uses_every_hook_against_a_real_etcd(
    home, etcd, hello_site, tmp_path, monkeypatch
):
    tool = tmp_path / "hello-tool"
    tool.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && { echo "hello-tool 1.0"; exit 0; }\n'
        'echo "$HELLO_GREETING from hello-tool"; echo "hello-tool: args $*" >&2\n'
    )
    tool.chmod(0o755)
    monkeypatch.syspath_prepend(str(hello_site))  # installed like any distribution
    out, err = io.StringIO(), io.StringIO()
    session = ShellSession(PluginHost().load("etcd,hello"), load_config(), out=out, err=err)

    def kshell(line):
        out.seek(0), out.truncate(), err.seek(0), err.truncate()
        return execute(session, line), out.getvalue(), err.getvalue()

    assert kshell(f"context set etcd.endpoint {etcd.url}")[0] == 0
    assert kshell(f"bin use hello-tool {tool}")[0] == 0
    assert kshell("doctor")[1].count("fix: context set hello.greeting hi") == 1
    assert kshell("context set hello.greeting Hi")[0] == 0
    assert kshell("hello greet mars --loud 1")[1] == "hi, mars!\n"
    assert kshell("hello last") == (1, "", "hello last: no planet remembered yet; "
                                    "`hello remember PLANET`\n")  # fmt: skip
    assert kshell("hello remember jupiter")[0] == 0
    assert kshell("hello last")[1] == "jupiter\n"
    assert "hello: greeting 'hi', last planet jupiter" in kshell("status")[1]
    assert "[ok  ] hello: greeting: hi" in kshell("doctor")[1]
    monkeypatch.setenv("HELLO_PLANET", "mars")
    assert re.search(r"hello planet\s+mars\s+env HELLO_PLANET", kshell("context")[1])
    assert kshell(f"context set hello.token {TOKEN}")[0] == 0
    status, stdout, stderr = kshell("hello-tool a b")
    assert (status, stdout) == (0, "hi from hello-tool\n")
    assert stderr == "hello-tool: args --token **** a b\n"  # the tool got it; the screen not
    status, stdout, _ = kshell("env hello-tool")
    assert "HELLO_GREETING=hi" in stdout and "flags: --token ****" in stdout
    assert TOKEN not in stdout
    info = session.host.plugins["hello"]
    from kshell import hookspecs

    every_hook = {n for n in dir(hookspecs) if n.startswith("kshell_")}
    assert set(info.hooks) == every_hook and info.errors == [] and info.failures == {}


def test_builtin_plugins_without_their_pinned_tools(home, etcd, monkeypatch):
    """The real etcd and fleet plugins, no etcdctl or fleetctl anywhere: findings with
    their fix, the rest of each plugin's status intact, doctor unchanged by status."""
    from kshell.session import open_session

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    out, err = io.StringIO(), io.StringIO()
    session = open_session(plugins="etcd,fleet", out=out, err=err)
    for key in ("etcd.endpoint", "fleet.endpoint"):
        assert execute(session, f"context set {key} {etcd.url}") == 0
    out.seek(0), out.truncate()
    assert execute(session, "doctor") == 0
    first = out.getvalue()
    for tool, version in (("etcdctl", "0.4.6"), ("fleetctl", "0.8.1")):
        assert (
            f"[WARN] {tool[:-3]}: {tool}: the pinned {tool} {version} is not installed\n"
            f"       fix: bin install {tool}\n" in first
        )
    out.seek(0), out.truncate()
    assert execute(session, "status") == 0
    status = out.getvalue()
    assert "fleet: fleetctl 0.8.1 is not installed; `bin install fleetctl`" in status
    assert "fleet: machines: 0" in status  # what fleet could tell without fleetctl
    assert "fleet: units: not listed (fleetctl 0.8.1 is not installed" in status
    assert "failed" not in status
    assert all(not p.errors and not p.failures for p in session.host.plugins.values())
    out.seek(0), out.truncate()
    assert execute(session, "doctor") == 0
    assert out.getvalue() == first


def test_a_rejected_secret_value_is_not_echoed_in_the_error_line(home):
    class Picky:
        @hookimpl
        def kshell_settings(self, register):
            def validate(value):
                raise ValueError(f"`{value}` is too short")

            register(Setting("picky.token", "token", secret=True, validate=validate))

    session, out, err = make_session([("picky", Picky())])
    assert execute(session, "context set picky.token hunter2") == 2
    assert err.getvalue() == "context set: invalid picky.token: `****` is too short\n"


class NoSettings(Rec):
    @hookimpl
    def kshell_settings(self, register):
        raise RuntimeError("settings table broken")


def test_a_plugin_whose_settings_failed_never_points_its_tool(home, recorder):
    script, log = recorder
    session, out, err = make_session([("rec", NoSettings())])
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(recorder=str(script)))
    assert execute(session, "rec run x") == 70
    assert err.getvalue().startswith(
        "rec run: plugin rec: kshell_settings failed: RuntimeError: settings table broken;"
    )
    assert not log.exists()


def test_a_plugin_that_fails_to_import_is_logged_with_its_traceback(home, hello_site, monkeypatch):
    monkeypatch.syspath_prepend(str(hello_site))
    session = ShellSession(PluginHost().load("broken"), load_config(), out=io.StringIO())
    assert execute(session, "plugins") == 0
    assert "import failed: RuntimeError: this plugin is broken on purpose" in (
        session.out.getvalue()
    )
    log = log_path().read_text()
    assert "--- plugin broken: import" in log and "Traceback" in log


def test_a_tool_env_refusal_names_the_plugin(rec):
    session, out, err, log = rec

    class Refuses:
        @hookimpl
        def kshell_tool_env(self, tool, context):
            raise CommandError("refuses.url is not a URL; `context set refuses.url URL`", 2)

    session.host.register(Refuses(), "refuses")
    assert execute(session, "rec run x") == 2
    assert err.getvalue() == (
        "rec run: plugin refuses: refuses.url is not a URL; `context set refuses.url URL`\n"
    )
    assert not log.exists()


def test_lazy_imports_its_module_on_the_first_call_only(tmp_path, monkeypatch):
    import sys

    from kshell import lazy

    (tmp_path / "kshell_lazy_probe.py").write_text(
        "def greet(session, args):\n    return f'{session} {args}'\n"
        "def make(word):\n    return lambda session, args: f'{word} {session}'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kshell_lazy_probe", raising=False)
    greet = lazy("kshell_lazy_probe", "greet")
    made = lazy("kshell_lazy_probe", "make", "hello")
    assert "kshell_lazy_probe" not in sys.modules
    assert greet("s", "a") == "s a"
    assert "kshell_lazy_probe" in sys.modules
    assert made("s", "a") == "hello s"


def test_is_loopback_knows_this_machine_in_every_spelling():
    from kshell import is_loopback

    for url in ("http://127.0.0.1:4001", "http://127.1.2.3:4001", "http://[::1]:4001",
                "http://localhost:4001", "127.0.0.1:4001"):  # fmt: skip
        assert is_loopback(url), url
    for url in ("http://10.1.1.245:4001", "http://etcd.example:4001", "not a url", ""):
        assert not is_loopback(url), url
