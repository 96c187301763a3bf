"""Where a recipe's ``${NAME}`` comes from: ``--var`` first, then ``set`` in the file, then
the environment, then ``${NAME:-default}`` (issue 11 point 6)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def kshell(home, *args, env=None):
    full = {**os.environ, "KSHELL_HOME": str(home), "KSHELL_PLUGINS": "", **(env or {})}
    for name in ("WHO", "WHERE", "ONLY_ENV", "UNSET"):
        full.pop(name, None)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "kshell", *args],
        capture_output=True, text=True, env=full, timeout=60,
    )  # fmt: skip


def test_var_beats_set_which_beats_the_environment(home, tmp_path):
    recipe = tmp_path / "vars.ksh"
    recipe.write_text(
        textwrap.dedent("""\
        set WHO=from-set
        set WHERE=from-set
        context add who-${WHO}
        context add where-${WHERE}
        context add env-${ONLY_ENV}
        context add default-${UNSET:-fallback}
    """)
    )
    env = {"WHO": "from-env", "WHERE": "from-env", "ONLY_ENV": "from-env"}
    done = kshell(home, "run", str(recipe), "--var", "WHO=from-var", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    listed = kshell(home, "-c", "context list").stdout
    names = {line.strip(" *") for line in listed.splitlines()}
    assert names == {
        "default", "who-from-var", "where-from-set", "env-from-env", "default-fallback"
    }, listed  # fmt: skip


def test_an_unset_variable_stops_the_recipe_before_anything_runs(home, tmp_path):
    recipe = tmp_path / "missing.ksh"
    recipe.write_text("context add first\ncontext add ${NOWHERE}\n")
    done = kshell(home, "run", str(recipe))
    assert done.returncode == 2
    assert f"{recipe}:2: ${{NOWHERE}} is not set; pass --var NOWHERE=VALUE or set it" in done.stderr
    assert "first" not in kshell(home, "-c", "context list").stdout


def test_set_and_include_take_comments_like_any_line(tmp_path, home):
    # `#` starts a comment only at the start of a word: on a set line and an include line too
    (tmp_path / "a#b.ksh").write_text("set INNER=from-include\n")
    main = tmp_path / "main.ksh"
    main.write_text(
        "set X=v1  # the first value\nset Y=abc#def\ninclude a#b.ksh  # a file\n"
        "help ${X} ${Y} ${INNER}\n"
    )
    from kshell.recipes import plan
    from kshell.session import open_session

    session = open_session(plugins="")
    got = plan(session.host.commands, main, {})
    assert got.problems == []
    assert [step.text for step in got.steps] == ["help v1 abc#def from-include"]
