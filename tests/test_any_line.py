"""Whatever a line holds, the user gets a proper status and one clear line (issue 10 point 13,
issue 11 point 5).

Generated lines — arbitrary text with control characters, NULs and lone surrogates, and
command lines built from the real command table with huge numbers, odd quoting and every
flag — run through the dispatcher in-process, in a real session with every builtin plugin,
a real etcd and the pinned tools (stand-ins where a 2014 binary cannot be installed). No
line may end in an internal error (status 70), print a traceback (in the session's output
or from a thread) or write a message of several lines. A smaller sample runs through
``kshell -c`` in a subprocess, with real stdout and stderr.
"""

from __future__ import annotations

import io
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading

import pytest
from conftest import STANDINS, real_etcdctl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kshell.dispatch import execute
from kshell.sandbox import free_port
from kshell.session import open_session

FLEETCTL = os.environ.get("KSHELL_TEST_FLEETCTL") or str(STANDINS / "fleetctl")
EX_SOFTWARE = 70
PER_LINE = 10  # seconds; see WAITS
WAITS = {
    # Commands that wait for the cluster by design (their bounded waits have their own
    # tests), or that SSH to a machine: generated arguments would only make them wait.
    "etcd watch",
    "fleet wait",
    "fleet start",
    "fleet load",
    "fleet stop",
    "fleet unload",
    "fleet journal",
    "fleet status",
    "fleet ssh",
    "wait",  # recipes: polls a condition until its timeout
    "kube wait minions",  # poll the API server until their --timeout (60 s by default)
    "kube wait pod",
    "kube tunnel open",  # runs ssh, then waits for the API through it
    "idcf iso register",  # poll the cloud's jobs until idcf.timeout
    "idcf deploy",
    # Raw tools take any words: `etcdctl watch K` and `fleetctl start U` wait forever.
    "etcdctl",
    "fleetctl",
    "kubecfg",
}
WRITES = {
    "rudder units", "history save", "kube units render", "idcf cloud-config etcd",
    "idcf cloud-config node",
}  # fmt: skip
"""Commands that write files where their words say: kept inside the test's directories."""
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Hung(BaseException):
    """A line ran past PER_LINE seconds (a BaseException: no handler may swallow it)."""


@pytest.fixture
def loopback_only(monkeypatch):
    """Nothing in this process connects to, or even looks up, anything but loopback."""
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock, address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise OSError(f"test guard: no connection to {address[0]}")
        return connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            raise socket.gaierror(f"test guard: no lookup of {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture
def cluster_home(home, etcd, tmp_path, monkeypatch):
    """A config pointing every plugin at the test etcd; downloads at a dead loopback port."""
    import yaml

    from kshell.install import download

    config = home / "config" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        yaml.safe_dump(
            {
                "contexts": {
                    "default": {
                        "etcd.endpoint": etcd.url,
                        "fleet.endpoint": etcd.url,
                        "fleet.request-timeout": "0.5",
                    }
                },
                "binaries": {"etcdctl": real_etcdctl(), "fleetctl": FLEETCTL},
            }
        )
    )
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KSHELL_MIRROR", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(download, "BACKOFF", 0)
    work = tmp_path / "cwd"  # what `fleet submit`, `rudder units --output` … may write
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))  # `~` too
    return home


class Recorder:
    """A real session whose messages and thread errors are recorded line by line."""

    def __init__(self, monkeypatch) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.session = open_session(out=self.out, err=self.err)
        self.messages: list[str] = []
        self.thread_errors: list[str] = []
        warn = self.session.warn

        def record(text: str) -> None:
            self.messages.append(text)
            warn(text)

        self.session.warn = record  # type: ignore[method-assign]
        monkeypatch.setattr(
            threading,
            "excepthook",
            lambda a: self.thread_errors.append(f"{a.exc_type.__name__}: {a.exc_value}"),
        )
        self.names = self.session.host.commands.all_names()
        self.config = self.session.config.path
        self.pristine = self.config.read_bytes()

    def reset(self) -> None:
        """Back to the test's config and context: a generated `context set etcd.endpoint
        http://10.…` or `use …` must not point the next line's tools off loopback."""
        from kshell.config import load_config

        self.config.write_bytes(self.pristine)
        self.session.config = load_config()
        self.session.use("default")
        self.session.exit_requested = False

    def writes_outside(self, line: str) -> bool:
        """A line of WRITES naming an absolute path or `..`: it could write anywhere."""
        from kshell.dispatch import split

        try:
            words = split(line)
        except ValueError:
            return False
        found = self.session.host.commands.match(words)
        if found is None or found[0].command.name not in WRITES:
            return False
        return any(w.partition("=")[2].startswith("/") or w.startswith("/") or ".." in w
                   for w in words)  # fmt: skip

    def check(self, line: str) -> None:
        for buffer in (self.out, self.err):
            buffer.seek(0)
            buffer.truncate()
        self.messages.clear()
        previous = signal.signal(signal.SIGALRM, _hung)
        signal.setitimer(signal.ITIMER_REAL, PER_LINE)
        try:
            status = execute(self.session, line)
        except Hung:
            pytest.fail(
                f"{line!r} still ran after {PER_LINE}s: if its command waits by design, "
                "add it to WAITS"
            )
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self.reset()
        shown = self.out.getvalue() + self.err.getvalue()
        assert isinstance(status, int) and 0 <= status <= 255, (line, status)
        assert status != EX_SOFTWARE, (line, self.err.getvalue())
        assert "Traceback" not in shown, (line, shown)
        assert not self.thread_errors, (line, self.thread_errors)
        for message in self.messages:
            if message.startswith("usage:"):  # argparse's usage block, then one error line
                continue
            assert "\n" not in message.strip(), (line, message)


def _hung(signum, frame):
    raise Hung()


@pytest.fixture
def recorder(cluster_home, loopback_only, monkeypatch):
    return Recorder(monkeypatch)


# -- what lines are made of ----------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=60)
awkward = st.sampled_from(
    [
        "1e999", "-1e999", "1e300", "inf", "-inf", "nan", "9" * 400, "-1", "0", "-0", "0x10",
        "1_000", "٣", "\x00", "\udcff", "\ud800", "a\nb", "\r", "\x1b[2J", "\u2028", "", "'",
        '"', "\\", "--", "-", "=", "a=b", "=b", "%s", "{}", "${X}", "~", "/", "//", "/_etcd",
        ".", "..", "http://", "http://[::1", "http://127.0.0.1:99999999", "10.0.0.0/16",
        "10.0.0.0/33", "300.1.1.1", "x.service", "-x.service", "@.service", "a" * 300,
    ]
)  # fmt: skip


def _quoted(word: str, how: int) -> str:
    if how == 0:
        return shlex.quote(word)
    if how == 1:
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def command_lines(draw, names: list[str], parser_of) -> str:
    """A command of the table, then words: its own flags and choices, awkward values, noise."""
    name = draw(st.sampled_from(names))
    parser = parser_of(name)
    flags = [o for a in parser._actions for o in a.option_strings] if parser else []
    choices = [str(c) for a in parser._actions for c in (a.choices or ())] if parser else []
    word = st.one_of(
        st.sampled_from(flags or ["--help"]),
        st.sampled_from(choices or ["x"]),
        awkward,
        any_text,
        st.builds(lambda f, v: f"{f}={v}", st.sampled_from(flags or ["--x"]), awkward),
    )
    words = draw(st.lists(st.builds(_quoted, word, st.integers(0, 2)), max_size=5))
    return " ".join([name, *words])


def _parser_of(session):
    table = session.host.commands

    def parser_of(name: str):
        entry = table.get(name)
        if entry is None or entry.command.passthrough:
            return None
        try:
            return table.parser(entry)
        except Exception:  # a plugin's broken parser is the dispatcher's to report
            return None

    return parser_of


# -- in-process -------------------------------------------------------------------------------

_IN_PROCESS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_IN_PROCESS
@given(line=any_text)
def test_any_text(recorder, line):
    assume(not recorder.writes_outside(line))
    recorder.check(line)


@_IN_PROCESS
@given(data=st.data())
def test_any_command_line(recorder, data):
    names = [n for n in recorder.names if n not in WAITS]
    line = data.draw(command_lines(names, _parser_of(recorder.session)), label="line")
    assume(not recorder.writes_outside(line))
    recorder.check(line)


@pytest.mark.parametrize(
    "line",
    [
        "etcdctl get '\udcff'",  # sh refused to encode it: a multi-line ForkException
        "etcd set /k 'a\x00b'",
        "nosuch 'a\nb'",
        "context list 'a\nb'",  # argparse repeats the words in its error
        "etcd mkdir 'x' 'a\nb'",
        "fleet start x.service --timeout 1e999",  # OverflowError in --block-attempts
        "fleet wait x.service --timeout 1e300 --interval 1e300",  # the timer thread died
        "context set fleet.request-timeout 1e999",
        "fleet cat '-x.service' --help",
        "rudder config set --network '10.0.0.0/16\n'",
        "fleet stop 'a\nb'",  # the unit's name in kshell's own line
        "fleet wait 'a\x1bb' --state 'x\ny' --timeout 0.3 --interval 0.1",
    ],
)
def test_lines_that_once_broke_the_rule(recorder, line):
    recorder.check(line)


def test_each_line_starts_from_the_tests_context(recorder, etcd):
    """The safety net of the tests above: no generated line can move the next one's tools."""
    recorder.check("context set etcd.endpoint http://10.9.9.9:4001")
    assert recorder.session.context.get("etcd.endpoint") == etcd.url
    recorder.check("context add elsewhere")
    recorder.check("use elsewhere")
    assert recorder.session.context.name == "default"
    assert recorder.session.context.get("etcd.endpoint") == etcd.url


# -- through `kshell -c`, with real streams ---------------------------------------------------


def _argv_safe(line: str) -> bool:
    """What a real argv can carry: no NUL, and surrogates only as undecodable bytes."""
    if "\x00" in line:
        return False
    try:
        os.fsencode(line)
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=st.one_of(any_text, st.builds(" ".join, st.lists(awkward, max_size=4))))
def test_kshell_c_subprocess_sample(tmp_path_factory, line):
    if not _argv_safe(line):
        line = line.replace("\x00", "")
        line = os.fsdecode(line.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    home = tmp_path_factory.mktemp("home")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KSHELL_", "FLEETCTL_"))},
        "KSHELL_HOME": str(home),
        "KSHELL_PLUGINS": "etcd,fleet,rudder",
        "ETCDCTL_PEERS": f"http://127.0.0.1:{free_port()}",  # nothing listens: fast refusals
        "KSHELL_MIRROR": f"http://127.0.0.1:{free_port()}",  # no download leaves loopback
        "FLEETCTL_REQUEST_TIMEOUT": "0.2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "kshell", "-c", line], env=env, capture_output=True, timeout=60
    )
    shown = done.stdout + done.stderr
    assert done.returncode != EX_SOFTWARE, (line, done.stderr)
    assert b"Traceback" not in shown and b"Original exception" not in shown, (line, shown)
