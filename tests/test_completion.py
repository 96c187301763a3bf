"""The completer, called directly with a prompt_toolkit Document (no terminal)."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

import kshell
from kshell import Candidate, Command, Setting
from kshell.completion import KshellCompleter, complete, tokenize
from kshell.config import load_config
from kshell.host import PluginHost
from kshell.session import ShellSession


def _noop(session, args):
    return 0


def _keys(session, prefix):
    return ["/foo/", Candidate("/foo/bar", "a value"), "/fox", "/my key", "/other"]


def _units(session, prefix):
    return [Candidate(u, "unit file") for u in ("apiserver.service", "kubelet.service")]


def _boom(session, prefix):
    raise RuntimeError("cluster unreachable")


def _broken_parser(parser):
    raise ValueError("a plugin bug")


class Demo:
    @kshell.hookimpl
    def kshell_settings(self, register):
        register(Setting("demo.endpoint", "Where the demo service listens"))
        register(Setting("demo.token", "Demo API token", secret=True))

    @kshell.hookimpl
    def kshell_commands(self, register):
        def put_args(p):
            p.add_argument("key", help="the key")
            p.add_argument("value", nargs="?", help="the new value")
            p.add_argument("--ttl", type=int, help="time to live in seconds")
            p.add_argument("-r", "--recursive", action="store_true", help="the whole tree")
            p.add_argument("--format", choices=["json", "text"], help="output format")
            p.add_argument("--unit", help="a fleet unit")
            p.add_argument("-l", "--label", action="append", help="a label (repeatable)")

        register(Command(
            "demo put", "Put a key", _noop, arguments=put_args,
            completers={"key": _keys, "unit": _units},
        ))  # fmt: skip
        register(Command(
            "demo boom", "A completer that raises", _noop,
            arguments=lambda p: p.add_argument("key"), completers={"key": _boom},
        ))  # fmt: skip
        register(Command(
            "demo mode", "Choices on a positional", _noop,
            arguments=lambda p: p.add_argument("mode", choices=["fast", "slow"], help="speed"),
        ))  # fmt: skip
        register(Command(
            "demo many", "Several positionals", _noop,
            arguments=lambda p: (p.add_argument("unit"), p.add_argument("machines", nargs="+")),
            completers={"unit": _units, "machines": lambda s, p: ["m1", "m2"]},
        ))  # fmt: skip
        register(Command("demo broken", "Its parser raises", _noop, arguments=_broken_parser))
        register(kshell.raw_tool("democtl", "Run democtl as typed"))


@pytest.fixture
def session(home):
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.yaml").write_text(
        "current: default\ncontexts:\n  default: {}\n  prod: {}\n  staging: {}\n"
    )
    host = PluginHost().load("")  # the core only; no entry points
    host.register(Demo(), "demo")
    return ShellSession(host, load_config())


def texts(session, text):
    """What Tab inserts, through the prompt_toolkit adapter."""
    completer = KshellCompleter(session)
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]


def metas(session, text):
    return {s.display: s.meta for s in complete(session, text)}


# -- command words ---------------------------------------------------------------


def test_first_word_lists_commands_and_groups(session):
    found = metas(session, "")
    assert {"help", "context", "use", "demo", "democtl", "exit"} <= set(found)
    assert found["demo"] == "demo commands"
    assert found["help"].startswith("Show the commands")


def test_partial_command_word_completes_with_a_space(session):
    assert texts(session, "dem") == ["demo ", "democtl "]
    assert texts(session, "us") == ["use "]
    assert all(s.start_position == -2 for s in complete(session, "us"))


def test_pure_suggestions_mark_final_words_and_the_adapter_adds_the_space(session):
    found = {s.text: s.final for s in complete(session, "demo put /fo")}
    assert found == {"/foo/": False, "/foo/bar": True, "/fox": True}
    assert [(s.text, s.final) for s in complete(session, "context se")] == [("set", True)]
    assert texts(session, "context se") == ["set "]


def test_group_lists_subcommands_with_their_help(session):
    found = metas(session, "demo ")
    assert set(found) == {"put", "boom", "mode", "many", "broken"}
    assert found["put"] == "Put a key"
    assert texts(session, "demo p") == ["put "]


def test_multi_word_core_commands(session):
    assert texts(session, "context se") == ["set "]
    assert set(texts(session, "context ")) == {"list ", "set ", "unset ", "add ", "delete "}


def test_unknown_command_completes_nothing(session):
    assert texts(session, "nosuch ") == []
    assert texts(session, "demo nosuch ") == []


# -- flags -----------------------------------------------------------------------


def test_flags_of_the_matched_parser_with_their_help(session):
    found = metas(session, "demo put --")
    assert {"--ttl", "--recursive", "--format", "--unit", "--label", "--help"} <= set(found)
    assert found["--ttl"] == "time to live in seconds"
    assert "-r " in texts(session, "demo put -")


def test_flags_already_given_are_left_out(session):
    after = texts(session, "demo put --ttl 5 -r /foo --")
    assert "--ttl " not in after and "--recursive " not in after
    assert "--format " in after
    clustered = texts(session, "demo put -rl x --")
    assert "--recursive " not in clustered
    assert "--label " in clustered  # append: may be given again


def test_empty_word_with_no_positional_left_offers_long_flags(session):
    found = texts(session, "demo put /foo/bar v ")
    assert "--ttl " in found and "--help " not in found and "-r " not in found


def test_option_value_is_not_a_flag(session):
    assert texts(session, "demo put --ttl ") == []
    assert texts(session, "demo put --unit ") == ["apiserver.service ", "kubelet.service "]
    assert metas(session, "demo put --unit k") == {"kubelet.service": "unit file"}


# -- choices and completers ------------------------------------------------------------


def test_choices_of_an_option(session):
    assert texts(session, "demo put --format ") == ["json ", "text "]
    assert texts(session, "demo put --format t") == ["text "]
    assert texts(session, "demo put --format=j") == ["--format=json "]


def test_choices_of_a_positional(session):
    assert metas(session, "demo mode ") == {"fast": "speed", "slow": "speed"}
    assert texts(session, "demo mode s") == ["slow "]


def test_completer_of_the_positional_under_the_cursor(session):
    assert texts(session, "demo put /fo") == ["/foo/", "/foo/bar ", "/fox "]
    assert metas(session, "demo put /foo/b") == {"/foo/bar": "a value"}
    # the second positional has no completer
    assert texts(session, "demo put /foo/bar ") == []
    # options before the positional do not shift it
    assert "/other " in texts(session, "demo put --ttl 5 -r --format json /o")


def test_positional_index_walks_nargs(session):
    assert texts(session, "demo many ") == ["apiserver.service ", "kubelet.service "]
    assert texts(session, "demo many kubelet.service ") == ["m1 ", "m2 "]
    assert texts(session, "demo many kubelet.service m1 m") == ["m1 ", "m2 "]


def test_candidates_needing_quotes_are_quoted(session):
    assert texts(session, "demo put /my") == ["'/my key' "]
    assert texts(session, 'demo put "/my') == ['"/my key" ']
    assert texts(session, "demo put '/fo") == ["'/foo/", "'/foo/bar' ", "'/fox' "]


def test_a_raising_completer_completes_nothing(session):
    assert complete(session, "demo boom ") == []


def test_a_raising_parser_completes_nothing_in_the_adapter(session):
    completer = KshellCompleter(session)
    assert list(completer.get_completions(Document("demo broken "), CompleteEvent())) == []


def test_passthrough_commands_complete_nothing_after_the_name(session):
    assert texts(session, "democtl ") == []
    assert texts(session, "democtl --") == []


def test_comments_complete_nothing(session):
    assert texts(session, "# con") == []
    assert texts(session, "help # co") == []


def test_a_hash_inside_a_word_is_no_comment(session):
    """As the dispatcher splits it: `#` starts a comment only at the start of a word."""
    line = tokenize("demo put /k abc#d")
    assert (line.words, line.current, line.comment) == (["demo", "put", "/k"], "abc#d", False)
    assert tokenize("demo put /k 'a b'#c").current == "a b#c"
    assert tokenize("demo put /k abc #d").comment
    assert texts(session, "demo put /k x#y --fo") == ["--format "]


# -- real core commands -------------------------------------------------------------


def test_context_set_completes_setting_names(session):
    found = metas(session, "context set ")
    assert found["demo.endpoint"] == "Where the demo service listens"
    assert "demo.token" in found
    assert texts(session, "context set demo.e") == ["demo.endpoint "]
    assert texts(session, "context set --context p") == ["prod "]


def test_use_completes_context_names(session):
    assert texts(session, "use ") == ["default ", "prod ", "staging "]
    assert texts(session, "use st") == ["staging "]


def test_help_completes_command_words(session):
    assert "demo " in texts(session, "help ")
    assert texts(session, "help con") == ["context "]


# -- the prompt_toolkit adapter ---------------------------------------------------------


def test_adapter_yields_completions_with_display_meta(session):
    completer = KshellCompleter(session)
    found = list(completer.get_completions(Document("context se"), CompleteEvent()))
    assert [(c.text, c.start_position, c.display_text) for c in found] == [("set ", -2, "set")]
    assert found[0].display_meta_text.startswith("Change a setting")


def test_adapter_completes_at_the_cursor_not_the_end(session):
    completer = KshellCompleter(session)
    doc = Document("use pr --whatever", cursor_position=len("use pr"))
    assert [c.text for c in completer.get_completions(doc, CompleteEvent())] == ["prod "]


# -- splitting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, words, current",
    [
        ("", [], ""),
        ("a b", ["a"], "b"),
        ("a b ", ["a", "b"], ""),
        ("a 'b c", ["a"], "b c"),
        ('a "b \\" c', ["a"], 'b " c'),
        ("a b\\ c", ["a"], "b c"),
        ("a 'x y' z", ["a", "x y"], "z"),
        ("a b\\", ["a"], "b"),
    ],
)
def test_tokenize_tolerates_unclosed_quotes(text, words, current):
    line = tokenize(text)
    assert (line.words, line.current) == (words, current)


def test_complete_files_offers_directories_and_the_wanted_suffixes(tmp_path, monkeypatch):
    from kshell import complete_files

    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "a.service").write_text("")
    (tmp_path / "units" / "notes.txt").write_text("")
    (tmp_path / ".hidden.service").write_text("")
    (tmp_path / "b.json").write_text("")
    monkeypatch.chdir(tmp_path)
    texts = lambda got: [(c.text, c.meta) for c in got]  # noqa: E731
    assert texts(complete_files("", [".service"], "unit file")) == [("units/", "directory")]
    assert texts(complete_files("units/", [".service"], "unit file")) == [
        ("units/a.service", "unit file")
    ]
    assert texts(complete_files(".h", [".service"], "unit file")) == [
        (".hidden.service", "unit file")
    ]  # hidden only once a dot is typed
    assert texts(complete_files(f"{tmp_path}/b", [".json"], "object file")) == [
        (f"{tmp_path}/b.json", "object file")
    ]
    assert complete_files("nowhere/", [".json"]) == []
