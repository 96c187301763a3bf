"""The interactive start: nothing heavy before the prompt; sh is imported in the background
once the prompt is on the screen, so the first tool run does not wait for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# Runs the real loop on a prompt_toolkit terminal output that records what reaches the
# screen, and notes what is imported when: the first prompt on screen (with the heavy
# modules loaded by then) and the first import of sh (with the thread that does it).
PROBE = textwrap.dedent("""\
    import json, sys, threading
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.data_structures import Size
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.vt100 import Vt100_Output
    from kshell.session import open_session
    from kshell.repl import repl

    import gc
    events = []
    heavy = lambda: sorted(m for m in ("sh", "requests") if m in sys.modules)
    gc.disable()  # as kshell.cli.main does for the start-up

    class Screen:
        encoding = "utf-8"
        def write(self, text):
            if "kshell:default>" in text and not any(e[0] == "prompt" for e in events):
                events.append(["prompt", heavy(), gc.isenabled()])
        def flush(self):
            pass

    class Watch:
        def find_spec(self, name, path=None, target=None):
            if name == "sh" and not any(e[0] == "import sh" for e in events):
                events.append(["import sh", threading.current_thread().name, gc.isenabled()])
            return None

    sys.meta_path.insert(0, Watch())
    imported = threading.Event()
    session = open_session(interactive=True)
    with create_pipe_input() as inp:
        def type_when_warm():
            for _ in range(400):
                if "sh" in sys.modules and getattr(sys.modules["sh"], "Command", None):
                    break
                threading.Event().wait(0.05)
            inp.send_text(sys.argv[1])
        threading.Thread(target=type_when_warm, daemon=True).start()
        output = Vt100_Output(Screen(), lambda: Size(rows=40, columns=120), term="xterm")
        with create_app_session(input=inp, output=output):
            status = repl(session)
    loaded = hasattr(sys.modules.get("sh"), "Command")
    print(json.dumps({"events": events, "status": status, "sh loaded": loaded}))
""")


def probe(home, keys: str, **env: str) -> dict:
    full = {**os.environ, "KSHELL_HOME": str(home), "PROMPT_TOOLKIT_NO_CPR": "1", **env}
    r = subprocess.run([sys.executable, "-c", PROBE, keys], capture_output=True, text=True,
                       env=full, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_sh_is_imported_in_the_background_after_the_prompt_is_up(home):
    got = probe(home, "exit\r")
    assert got["status"] == 0
    # The prompt came up with neither sh nor requests loaded (and no cyclic GC) ...
    assert got["events"][0] == ["prompt", [], False]
    # ... and then sh was imported by the warm-up thread, without typing anything, and the
    # cyclic GC was on again.
    assert got["events"][1] == ["import sh", "kshell-warm-sh", True]
    assert got["sh loaded"]


@pytest.mark.slow
def test_a_tool_run_during_the_warm_up_waits_for_it_and_works(home, tmp_path):
    """A command typed before the background import ends shares it (no deadlock)."""
    tool = tmp_path / "etcdctl"
    tool.write_text('#!/bin/sh\necho "etcdctl version 0.4.6"\n')
    tool.chmod(0o755)
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.yaml").write_text(f"binaries:\n  etcdctl: {tool}\n")
    code = textwrap.dedent("""\
        import sys, threading
        from prompt_toolkit.application import create_app_session
        from prompt_toolkit.input import create_pipe_input
        from prompt_toolkit.output import DummyOutput
        from kshell.session import open_session
        from kshell.repl import repl
        session = open_session(interactive=True)
        with create_pipe_input() as inp:
            inp.send_text("etcdctl --version\\retcdctl --version\\rexit\\r")  # typed ahead
            with create_app_session(input=inp, output=DummyOutput()):
                print("status", repl(session))
        print([t.name for t in threading.enumerate() if t.name == "kshell-warm-sh"])
    """)
    env = {**os.environ, "KSHELL_HOME": str(home), "PROMPT_TOOLKIT_NO_CPR": "1"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["etcdctl version 0.4.6"] * 2 + ["status 0", "[]"]


@pytest.mark.slow
def test_cyclic_gc_is_off_for_the_start_up_only(home):
    """`kshell -c`: no collections while starting, the GC on when the command runs."""
    code = textwrap.dedent("""\
        import gc
        import kshell.dispatch
        seen = []
        execute = kshell.dispatch.execute
        def spy(session, line):
            seen.append(gc.isenabled())
            return execute(session, line)
        kshell.dispatch.execute = spy
        from kshell.cli import main
        gc.enable()
        print(gc.isenabled(), main(["-c", "context list"]), seen, gc.isenabled())
        gc.enable()
        main(["--context", "nosuch", "-c", "context list"])  # fails before any command runs
        print(gc.isenabled())
    """)
    env = {**os.environ, "KSHELL_HOME": str(home)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["* default", "True 0 [True] True", "True"]
