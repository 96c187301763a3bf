"""The core without any cluster: grammar, plugin host, contexts, config, runner, CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kshell import Check, Command, CommandError, Setting, Tool, ToolEnv, hookimpl
from kshell.config import load_config
from kshell.dispatch import execute
from kshell.host import PluginHost
from kshell.session import ShellSession

TESTS = Path(__file__).parent


class Demo:
    """A plugin object exercising every hook."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    @hookimpl
    def kshell_commands(self, register):
        def add(p):
            p.add_argument("a", type=int)
            p.add_argument("b", type=int)
            p.add_argument("--mode", choices=["sum", "diff"], default="sum")

        def handler(session, args):
            self.seen.append(args)
            session.echo(str(args.a + args.b if args.mode == "sum" else args.a - args.b))

        register(Command("demo add", "Add two numbers", handler, arguments=add))
        register(Command("demo fail", "Fails cleanly", self._fail))
        register(Command("demo crash", "Has a bug", self._crash))
        register(Command("demo echo", "Run the fake tool", self._tool,
                         arguments=lambda p: p.add_argument("words", nargs="*")))  # fmt: skip

    def _fail(self, session, args):
        raise CommandError("the widget is not ready; run `demo prepare`", 3)

    def _crash(self, session, args):
        return {}["missing"]

    def _tool(self, session, args):
        result = session.run("faketool", args.words, capture=True)
        session.echo(f"[{result.status}] {result.stdout.strip()}")
        return result.status

    @hookimpl
    def kshell_settings(self, register):
        def positive(v):
            if not v.isdigit():
                raise ValueError("must be a whole number")
            return v

        register(Setting("demo.level", "How much", default="1", validate=positive))
        register(Setting("demo.token", "A secret", secret=True, env="DEMO_TOKEN"))

    @hookimpl
    def kshell_tools(self, register):
        register(Tool("faketool", "1.0", releases={}, version_args=("--version",)))

    @hookimpl
    def kshell_tool_env(self, tool, context):
        if tool == "faketool":
            return ToolEnv(env={"DEMO_LEVEL": context.get("demo.level") or ""}, args=("--x",))
        return None

    @hookimpl
    def kshell_checks(self, session):
        return [Check("widget", "warn", "not ready", fix="demo prepare")]

    @hookimpl
    def kshell_status(self, session):
        return ["all quiet"]


class Raising:
    @hookimpl
    def kshell_commands(self, register):
        raise RuntimeError("boom in commands")

    @hookimpl
    def kshell_status(self, session):
        raise ValueError("boom in status")


def make_session(plugins=(), **kw) -> tuple[ShellSession, io.StringIO, io.StringIO]:
    host = PluginHost().load(only="")
    for name, plugin in plugins:
        host.register(plugin, name)
    out, err = io.StringIO(), io.StringIO()
    return ShellSession(host, load_config(), out=out, err=err, **kw), out, err


@pytest.fixture
def demo(home):
    plugin = Demo()
    session, out, err = make_session([("demo", plugin)])
    return session, out, err, plugin


# -- grammar -----------------------------------------------------------------------


def test_longest_match_and_own_parser(demo):
    session, out, err, plugin = demo
    assert execute(session, "demo add 2 3 --mode diff") == 0
    assert out.getvalue() == "-1\n"
    assert plugin.seen[0].mode == "diff"


def test_flags_may_come_between_positionals(demo):
    session, out, err, plugin = demo
    assert execute(session, "demo add 2 --mode diff 3") == 0
    assert out.getvalue() == "-1\n"


def test_shlex_quotes_and_comments(demo):
    session, out, err, _ = demo
    assert execute(session, "demo add '4' \"5\"  # a comment") == 0
    assert out.getvalue() == "9\n"
    assert execute(session, "   # only a comment") == 0
    assert execute(session, "") == 0


@pytest.mark.parametrize(
    "line, words",
    [
        ("etcd set /k abc#def", ["etcd", "set", "/k", "abc#def"]),
        ("etcd set /k abc #def", ["etcd", "set", "/k", "abc"]),
        ("etcd set /k abc\t#def", ["etcd", "set", "/k", "abc"]),
        ("#only a comment", []),
        ("a 'b # c' d", ["a", "b # c", "d"]),
        ('a "b # c" d # e', ["a", "b # c", "d"]),
        ("a \\#b", ["a", "#b"]),
        ("a 'x'#b", ["a", "x#b"]),
        ("a ''#b", ["a", "#b"]),
        ("a\\ #b", ["a #b"]),
        ('a "\\"#" #c', ["a", '"#']),
        ("a # it's fine", ["a"]),
        ("a #c\nb #d", ["a", "b"]),
        ("http://h:4001/#frag x", ["http://h:4001/#frag", "x"]),
    ],
)
def test_hash_starts_a_comment_only_at_the_start_of_a_word(line, words):
    from kshell.dispatch import split

    assert split(line) == words


_SH_ALPHABET = "ab= \t#'\"\\"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_SH_ALPHABET, max_size=16))
def test_lines_split_as_a_posix_shell_splits_them(line):
    """/bin/sh is the oracle: the words it hands printf are the words kshell sees."""
    from kshell.dispatch import split

    try:
        words = split(line)
    except ValueError as e:
        if "escaped" in str(e):
            return  # a trailing backslash: sh keeps it, kshell asks to close the line
        words = None
    r = subprocess.run(["sh", "-c", "printf '%s\\0' X " + line], capture_output=True, timeout=10)
    expected = r.stdout.decode().split("\0")[1:-1] if r.returncode == 0 else None
    assert words == expected


def test_usage_error_prints_usage_and_returns_2(demo):
    session, out, err, _ = demo
    assert execute(session, "demo add 1") == 2
    text = err.getvalue()
    assert text.startswith("usage: demo add")
    assert "the following arguments are required: b" in text
    assert execute(session, "demo add 1 2 --mode nope") == 2
    assert "invalid choice" in err.getvalue()


def test_help_flag_is_status_0(demo, capsys):
    session, out, err, _ = demo
    assert execute(session, "demo add --help") == 0
    assert out.getvalue().count("usage: demo add") == 1
    assert capsys.readouterr().out == ""  # printed once, on the session's stream
    assert "--mode" in out.getvalue()


def test_a_group_takes_help_flags_and_a_command_that_is_a_group_lists_its_own(demo):
    session, out, err, _ = demo
    # README: `CMD --help` shows a command's arguments; for a group, what it holds.
    for line in ("demo --help", "demo -h"):
        assert execute(session, line) == 0, err.getvalue()
        assert "demo add" in out.getvalue() and err.getvalue() == ""
        out.truncate(0), out.seek(0)
    # `context` runs alone and has `context set` under it: its help names them.
    for line in ("context --help", "help context"):
        assert execute(session, line) == 0
        assert "usage: context" in out.getvalue() and "context set" in out.getvalue(), line
        out.truncate(0), out.seek(0)


def test_unknown_command_suggests(demo):
    session, out, err, _ = demo
    assert execute(session, "demo ad 1 2") == 127
    assert err.getvalue().strip() == "kshell: unknown command `demo ad`; did you mean: demo add?"
    err.truncate(0), err.seek(0)
    assert execute(session, "hepl") == 127
    assert "did you mean: help?" in err.getvalue()
    err.truncate(0), err.seek(0)
    assert execute(session, "zzzzzz") == 127
    assert err.getvalue().count("\n") == 1


def test_group_alone_lists_subcommands(demo):
    session, out, err, _ = demo
    assert execute(session, "demo") == 2
    assert "add, crash, echo, fail" in err.getvalue()


class Nested:
    @hookimpl
    def kshell_commands(self, register):
        for name in ("open", "close"):
            register(Command(f"deep tunnel {name}", f"{name} it", lambda s, a: 0))
        register(Command("deep run", "Run", lambda s, a: 0))


def test_a_group_inside_a_group_is_named_whole(home):
    from kshell.recipes import check_line

    session, out, err = make_session([("deep", Nested())])
    assert execute(session, "deep tunnel") == 2
    assert err.getvalue() == "kshell: `deep tunnel` needs a subcommand: close, open\n"
    err.truncate(0), err.seek(0)
    assert execute(session, "deep tunnel opn x") == 127
    assert err.getvalue() == (
        "kshell: unknown command `deep tunnel opn`; did you mean: deep tunnel open?\n"
    )
    # a recipe's line is checked with the same words
    with pytest.raises(ValueError, match=r"^unknown command `deep tunnel opn`; did you mean"):
        check_line(session.host.commands, "deep tunnel opn x")


def test_unclosed_quote_is_one_line(demo):
    session, out, err, _ = demo
    assert execute(session, "demo add 'oops") == 2
    assert err.getvalue().count("\n") == 1
    assert "quot" in err.getvalue()


def test_command_error_and_bug_are_one_line(demo, home):
    session, out, err, _ = demo
    assert execute(session, "demo fail") == 3
    assert err.getvalue() == "demo fail: the widget is not ready; run `demo prepare`\n"
    err.truncate(0), err.seek(0)
    assert execute(session, "demo crash") == 70
    line = err.getvalue()
    assert line.count("\n") == 1 and "KeyError" in line and "Traceback" not in line
    log = home / "state" / "kshell.log"
    assert "Traceback" in log.read_text()


class Chatty:
    """A handler whose exception text runs over several lines, as some libraries' do."""

    @hookimpl
    def kshell_commands(self, register):
        def crash(session, args):
            raise RuntimeError(
                "first line\nOriginal exception:\n  Traceback (most recent call last)"
            )

        def fail(session, args):
            raise CommandError("cannot use `a\nb`:\x1b[2J wiped", 4)

        register(Command("chatty crash", "Raises with a multi-line text", crash))
        register(Command("chatty fail", "Fails with a control character", fail))


def test_exception_text_is_one_line(home):
    session, out, err = make_session([("chatty", Chatty())])
    assert execute(session, "chatty crash") == 70
    line = err.getvalue()
    assert line.count("\n") == 1
    assert line.startswith("chatty crash: internal error: RuntimeError: first line (details in ")
    assert "Traceback" in (home / "state" / "kshell.log").read_text()
    err.truncate(0), err.seek(0)
    assert execute(session, "chatty fail") == 4
    assert err.getvalue() == "chatty fail: cannot use `a\\nb`:\\x1b[2J wiped\n"


@pytest.mark.parametrize(
    "line, shown",
    [
        ("nosuch 'a\nb'", "kshell: unknown command `nosuch`; type `help` for the list"),
        ("'a\nb'", "kshell: unknown command `a\\nb`; type `help` for the list"),
        ("demo add 1 2 'x\ry'", "demo add: error: unrecognized arguments: x\\ry"),
        ("demo add '\udcff' 2", "kshell: the line holds `\\udcff`, which is not text"),
        ("demo add 'a\x00' 2", "kshell: the line holds a NUL byte (\\x00)"),
    ],
)
def test_words_with_line_breaks_or_bytes_give_one_line(demo, line, shown):
    session, out, err, _ = demo
    assert execute(session, line) in (2, 127)
    last = err.getvalue().rstrip("\n").split("\n")[-1]
    assert last.startswith(shown)
    assert not err.getvalue().startswith("usage:") or err.getvalue().count("\n") == 2


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=80))
def test_any_line_returns_a_status(demo, line):
    session, out, err, _ = demo
    out.truncate(0), out.seek(0), err.truncate(0), err.seek(0)
    status = execute(session, line)
    assert isinstance(status, int) and 0 <= status <= 255
    assert status != 70, err.getvalue()  # no line ends in an internal error
    assert "Traceback" not in out.getvalue() + err.getvalue()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            [
                "demo",
                "add",
                "help",
                "context",
                "set",
                "--mode",
                "-h",
                "'",
                '"',
                "\\",
                "1",
                "x",
                "--",
                "#",
                "use",
                "env",
            ]
        ),
        max_size=6,
    )
)
def test_command_like_lines_return_a_status(demo, words):
    session, out, err, _ = demo
    out.truncate(0), out.seek(0), err.truncate(0), err.seek(0)
    status = execute(session, " ".join(words))
    assert isinstance(status, int) and 0 <= status <= 255
    assert status != 70, err.getvalue()  # no line ends in an internal error
    assert "Traceback" not in out.getvalue() + err.getvalue()


# -- plugin host ----------------------------------------------------------------------


def test_raising_plugin_is_reported_and_skipped(home):
    session, out, err = make_session([("demo", Demo()), ("bad", Raising())])
    assert execute(session, "demo add 1 1") == 0
    assert "bad: kshell_commands failed: RuntimeError: boom in commands" in " ".join(
        f"{p.name}: {e}" for p in session.host.plugins.values() for e in p.errors
    )
    assert execute(session, "status") == 0
    assert "demo: all quiet" in out.getvalue()
    assert "bad: kshell_status failed: ValueError: boom in status" in out.getvalue()
    # A run-time failure is counted and shown by `plugins`, not a load error for good.
    assert session.host.plugins["bad"].failures == {
        "kshell_status failed: ValueError: boom in status": 1
    }
    assert not any("boom in status" in e for e in session.host.plugins["bad"].errors)


def test_doctor_reports_checks_and_fixes(demo):
    session, out, err, _ = demo
    assert execute(session, "doctor") == 0  # warnings do not fail
    assert "[WARN] demo: widget: not ready" in out.getvalue()
    assert "fix: demo prepare" in out.getvalue()


def test_kshell_plugins_restricts_loading(home, monkeypatch):
    monkeypatch.setenv("KSHELL_PLUGINS", "")
    host = PluginHost().load()
    assert [p.name for p in host.plugins.values() if not p.core] == []
    monkeypatch.setenv("KSHELL_PLUGINS", "kube")
    host = PluginHost().load()
    assert [p.name for p in host.plugins.values() if not p.core] == ["kube"]
    assert "kubecfg" in host.tools


def test_duplicate_command_is_reported(home):
    class Dup:
        @hookimpl
        def kshell_commands(self, register):
            register(Command("help", "mine", lambda s, a: 0))

    session, out, err = make_session([("dup", Dup())])
    assert any(
        "already provided by shell_commands" in e for e in session.host.plugins["dup"].errors
    )


def test_loading_builtin_plugins_imports_nothing_heavy():
    code = (
        "import sys; from kshell.host import PluginHost; PluginHost().load();"
        "print(','.join(m for m in ('requests','yaml','sh','prompt_toolkit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- contexts and config ------------------------------------------------------------------


def test_context_set_validates_and_masks(demo, home):
    session, out, err, _ = demo
    assert execute(session, "context set demo.level many") == 2
    assert "invalid demo.level: must be a whole number" in err.getvalue()
    assert execute(session, "context set demo.level 7") == 0
    assert execute(session, "context set demo.token s3cret") == 0
    assert "s3cret" not in out.getvalue()
    out.truncate(0), out.seek(0)
    assert execute(session, "context") == 0
    assert "s3cret" not in out.getvalue() and "****" in out.getvalue()
    cfg = (home / "config" / "config.yaml").read_text()
    assert "demo.level: '7'" in cfg
    assert oct((home / "config" / "config.yaml").stat().st_mode & 0o777) == "0o600"


class Carrier:
    """A plugin whose tool gets a secret setting in its declared variable, in another
    variable and in a flag."""

    @hookimpl
    def kshell_settings(self, register):
        register(Setting("carrier.token", "API token", secret=True, env="VAULT_TOKEN"))

    @hookimpl
    def kshell_tools(self, register):
        register(Tool("vaultctl", "1.0", releases={}))

    @hookimpl
    def kshell_tool_env(self, tool, context):
        if tool != "vaultctl":
            return None
        token = context.get("carrier.token") or ""
        return ToolEnv(
            env={"VAULT_TOKEN": token, "VAULTCTL_AUTH": f"Bearer {token}"},
            args=(f"--token={token}",),
        )


class SecretTunnel:
    """A `fleet` plugin whose tunnel is a secret: a setting the toolbar shows."""

    @hookimpl
    def kshell_settings(self, register):
        register(Setting("fleet.tunnel", "a secret bastion", secret=True))


@pytest.fixture
def carrier(home, monkeypatch):
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    session, out, err = make_session([("carrier", Carrier()), ("fleet", SecretTunnel())])
    assert execute(session, "context set carrier.token s3cr3t-t0ken") == 0, err.getvalue()
    assert execute(session, "context set fleet.tunnel hidden-bastion") == 0, err.getvalue()
    out.truncate(0), out.seek(0)
    return session, out


def test_env_masks_the_declared_variable(carrier):
    session, out = carrier
    assert execute(session, "env vaultctl") == 0
    assert "  VAULT_TOKEN=****" in out.getvalue().splitlines()


def test_env_masks_the_secret_whatever_carries_it(carrier):
    """Issue 11 point 2: holds once the contract branch's masking (on main) is merged."""
    session, out = carrier
    assert execute(session, "env vaultctl") == 0
    assert "s3cr3t-t0ken" not in out.getvalue()
    assert "VAULTCTL_AUTH=" in out.getvalue() and "--token=" in out.getvalue()


def test_toolbar_masks_a_secret_setting(carrier):
    from kshell.repl import toolbar_parts

    session, _ = carrier
    text = "".join(t for _, t in toolbar_parts(session))
    assert "fleet.tunnel" in text and "****" in text and "hidden-bastion" not in text


def test_contexts_add_use_list(demo, home):
    session, out, err, _ = demo
    assert execute(session, "context add prod --set demo.level=3") == 0
    assert execute(session, "use prod") == 0
    assert session.context.get("demo.level") == "3"
    out.truncate(0), out.seek(0)
    assert execute(session, "context list") == 0
    assert out.getvalue() == "  default\n* prod\n"
    assert execute(session, "use nowhere") == 2
    assert "no context named `nowhere` (known: default, prod)" in err.getvalue()
    assert load_config().current == "prod"


def test_env_override_is_said(home, monkeypatch):
    monkeypatch.setenv("KSHELL_PLUGINS", "kube")
    host = PluginHost().load()
    out, err = io.StringIO(), io.StringIO()
    session = ShellSession(host, load_config(), out=out, err=err)
    assert execute(session, "context set kube.master http://10.1.0.77:8080") == 0
    monkeypatch.setenv("KUBERNETES_MASTER", "http://127.0.0.1:8080")
    out.truncate(0), out.seek(0)
    assert execute(session, "context") == 0
    text = out.getvalue()
    assert "http://127.0.0.1:8080  env KUBERNETES_MASTER" in text
    assert "KUBERNETES_MASTER overrides the stored kube.master" in text
    out.truncate(0), out.seek(0)
    assert execute(session, "env kubecfg") == 0
    assert out.getvalue() == "kubecfg:\n  flags: -h http://127.0.0.1:8080\n"


def test_malformed_config_is_one_line_and_never_overwritten(home):
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True)
    broken = "current: default\ncontexts:\n  default: [unclosed\n"
    cfg.write_text(broken)
    r = run_kshell(home, "-c", "help")
    assert r.returncode == 78
    assert r.stderr.count("\n") == 1
    assert f"{cfg}:4: malformed YAML" in r.stderr or f"{cfg}:3: malformed YAML" in r.stderr
    assert cfg.read_text() == broken


def test_config_that_is_not_a_mapping(home):
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("- just\n- a list\n")
    r = run_kshell(home, "-c", "help")
    assert r.returncode == 78 and "must be a mapping" in r.stderr


# -- runner --------------------------------------------------------------------------------


@pytest.fixture
def faketool(tmp_path):
    script = tmp_path / "faketool"
    script.write_text(
        textwrap.dedent("""\
        #!/bin/sh
        case "$*" in *--sleep*) sleep 5 ;; esac
        echo "args: $*"
        echo "level: $DEMO_LEVEL"
        echo "to stderr" >&2
        exit ${EXIT:-0}
    """)
    )
    script.chmod(0o755)
    return script


def test_runner_argv_env_status(demo, faketool, monkeypatch):
    session, out, err, _ = demo
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(faketool=str(faketool)))
    assert execute(session, "context set demo.level 5") == 0
    out.truncate(0), out.seek(0)
    monkeypatch.setenv("EXIT", "3")
    assert execute(session, "demo echo a 'b c'") == 3
    assert out.getvalue() == "[3] args: --x a b c\nlevel: 5\n"


def test_runner_streams_when_not_capturing(demo, faketool):
    session, out, err, _ = demo
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(faketool=str(faketool)))
    result = session.run("faketool", ["hi"])
    assert result.status == 0
    assert "args: --x hi" in out.getvalue() and "to stderr" in err.getvalue()


def test_runner_timeout_is_124(demo, faketool):
    session, out, err, _ = demo
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(faketool=str(faketool)))
    result = session.run("faketool", ["--sleep"], capture=True, timeout=0.3)
    assert result.status == 124
    assert "no answer after 0.3s" in err.getvalue()


@pytest.mark.parametrize("timeout", [1e300, float("inf"), float("nan")])
def test_runner_timeout_past_any_clock_is_no_timeout(demo, faketool, monkeypatch, timeout):
    """A timer that long would die of an OverflowError in its thread, traceback and all."""
    died = []
    monkeypatch.setattr("threading.excepthook", died.append)
    session, out, err, _ = demo
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(faketool=str(faketool)))
    result = session.run("faketool", ["hi"], capture=True, timeout=timeout)
    assert (result.status, result.stdout.splitlines()[0]) == (0, "args: --x hi")
    assert died == []


def test_dry_run_prints_argv_and_runs_nothing(home):
    plugin = Demo()
    session, out, err = make_session([("demo", plugin)], dry_run=True)
    assert execute(session, "demo echo x") == 0
    assert out.getvalue().splitlines()[0] == "+ DEMO_LEVEL=1 faketool --x x"


def test_configured_binary_missing_is_one_line(demo, tmp_path):
    session, out, err, _ = demo
    session.update_config(lambda raw: raw.setdefault("binaries", {}).update(faketool="/nope/x"))
    assert execute(session, "demo echo") == 126
    assert err.getvalue().count("\n") == 1 and "bin use faketool PATH" in err.getvalue()


# -- the command line -------------------------------------------------------------------------


def run_kshell(home, *args, input=None, env=None):
    full = {**os.environ, "KSHELL_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kshell", *args], capture_output=True, text=True,
        input=input, env=full, timeout=60,
    )  # fmt: skip


def test_version_and_help(home):
    r = run_kshell(home, "--version")
    assert r.returncode == 0 and r.stdout.startswith("kshell ")
    r = run_kshell(home, "--help")
    assert r.returncode == 0 and "-c LINE" in r.stdout


def test_dash_c_status(home):
    assert run_kshell(home, "-c", "help").returncode == 0
    r = run_kshell(home, "-c", "nosuch")
    assert r.returncode == 127 and r.stderr.count("\n") == 1


def test_stdin_lines_stop_at_first_failure(home):
    r = run_kshell(home, input="context list\n\n# comment\nnosuch thing\ncontext list\n")
    assert r.returncode == 127
    assert r.stdout.count("default") == 1
    assert "<stdin>:4: `nosuch thing` failed with status 127" in r.stderr


def test_unknown_context_flag(home):
    r = run_kshell(home, "--context", "prod", "-c", "context")
    assert r.returncode == 2
    assert r.stderr.strip() == "kshell: no context named `prod` (known: default)"


# -- a third-party plugin, installed as its own distribution ------------------------------------


@pytest.fixture(scope="session")
def thirdparty(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(TESTS / "thirdparty" / "kshell-hello"),
         str(TESTS / "thirdparty" / "kshell-broken")],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def test_third_party_plugin_end_to_end(home, thirdparty):
    env = {"PYTHONPATH": str(thirdparty)}
    r = run_kshell(home, "-c", "help", env=env)
    assert r.returncode == 0
    assert "hello greet" in r.stdout and "Greet a planet" in r.stdout
    assert (
        "plugin broken: import failed: RuntimeError: this plugin is broken on purpose" in r.stderr
    )
    r = run_kshell(home, "-c", "hello greet mars --loud 2", env=env)
    assert (r.returncode, r.stdout) == (0, "hello, mars!!\n")
    r = run_kshell(home, "-c", "hello greet pluto", env=env)
    assert r.returncode == 3 and "hello greet: no planet 'pluto'" in r.stderr
    r = run_kshell(home, "-c", "plugins --json", env=env)
    plugins = {p["name"]: p for p in json.loads(r.stdout)}
    assert plugins["hello"]["version"] == "1.2.3"
    from kshell import hookspecs

    every_hook = sorted(n for n in dir(hookspecs) if n.startswith("kshell_"))
    assert plugins["hello"]["hooks"] == every_hook  # a complete example: every hook
    assert plugins["hello"]["errors"] == []
    assert plugins["broken"]["errors"] == [
        "import failed: RuntimeError: this plugin is broken on purpose"
    ]
    assert plugins["etcd"]["errors"] == []


def test_third_party_plugin_completes(home, thirdparty, monkeypatch):
    completion = pytest.importorskip("kshell.completion")
    monkeypatch.syspath_prepend(str(thirdparty))
    from prompt_toolkit.document import Document

    host = PluginHost().load()
    session = ShellSession(host, load_config(), out=io.StringIO(), err=io.StringIO())
    completer = completion.KshellCompleter(session)
    got = {
        c.text.rstrip(): c.display_meta_text  # a final candidate ends with a space
        for c in completer.get_completions(Document("hello greet m"), None)
    }
    assert got == {"mercury": "closest to the sun", "mars": "the red one"}


def test_status_and_doctor_never_ask_to_install(home, monkeypatch):
    """An interactive session asks before installing only for a command the user typed."""

    class NeedsTool:
        @hookimpl
        def kshell_tools(self, register):
            from kshell import Release

            register(
                Tool("needed", "1.0", {"linux-amd64": Release("http://127.0.0.1:9/x", "binary")})
            )

        @hookimpl
        def kshell_status(self, session):
            return [f"status {session.run('needed', [], capture=True).status}"]

    def no_questions(*a):
        raise AssertionError("asked the user from a status hook")

    monkeypatch.setattr("builtins.input", no_questions)
    monkeypatch.setenv("KSHELL_PLATFORM", "linux-amd64")
    monkeypatch.setenv("PATH", "/nonexistent")
    session, out, err = make_session([("needs", NeedsTool())], interactive=True)
    assert execute(session, "status") == 0
    assert "needs: needed 1.0 is not installed; `bin install needed`" in out.getvalue()
    assert session.host.plugins["needs"].errors == []  # a finding, not a broken plugin


def test_path_binary_of_another_version_is_warned_once(home, faketool, monkeypatch):
    monkeypatch.setenv("PATH", f"{faketool.parent}:/usr/bin:/bin")
    warnings = []
    for _ in range(2):
        session, out, err = make_session([("demo", Demo())])
        assert execute(session, "demo echo hi") == 0
        warnings.append(err.getvalue())
    assert f"using {faketool} (faketool unknown version), not the pinned 1.0" in warnings[0]
    assert warnings[1] == ""  # said once per binary, not on every run
    faketool.write_text(faketool.read_text() + "# changed\n")  # another binary now
    session, out, err = make_session([("demo", Demo())])
    assert execute(session, "demo echo hi") == 0
    assert "not the pinned 1.0" in err.getvalue()
