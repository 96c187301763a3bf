"""A third-party kshell plugin, written only against the public API: every hook, once.

Try it: ``pip install tests/thirdparty/kshell-hello``, then in kshell
``hello greet mars``, ``context set hello.greeting hi``, ``hello remember mars`` (kept in
etcd), ``env hello-tool``, ``status``, ``doctor``.
"""

from kshell import (
    Candidate,
    Check,
    Command,
    CommandError,
    Release,
    Setting,
    Tool,
    ToolEnv,
    hookimpl,
    raw_tool,
)  # fmt: skip

PLANETS = {"mercury": "closest to the sun", "mars": "the red one", "jupiter": "the big one"}
LAST_KEY = "/hello/last"  # where `hello remember` keeps its planet, in the context's etcd

TOOL = Tool(
    "hello-tool",
    "1.0",
    {"linux-amd64": Release("https://example.com/hello-tool-1.0-linux-amd64", "binary")},
    help="prints a greeting",
)


def _greeting(value: str) -> str:
    if not value.isalpha():
        raise ValueError("one word, letters only")
    return value.lower()


@hookimpl
def kshell_settings(register):
    register(Setting("hello.greeting", "How to greet", default="hello", validate=_greeting))
    register(Setting("hello.token", "hello-tool's API token", secret=True, env="HELLO_TOKEN"))


@hookimpl
def kshell_tools(register):
    register(TOOL)


@hookimpl
def kshell_tool_env(tool, context):
    if tool != TOOL.name:
        return None
    token = context.get("hello.token")
    return ToolEnv(
        env={"HELLO_GREETING": context.get("hello.greeting") or "hello"},
        args=("--token", token) if token else (),
    )


def _planet(name: str) -> str:
    if name not in PLANETS:
        raise CommandError(f"no planet {name!r}; try `hello greet <Tab>`", 3)
    return name


def _greet(session, args):
    greeting = session.context.get("hello.greeting")
    session.echo(f"{greeting}, {_planet(args.planet)}{'!' * args.loud}")


def _remember(session, args):
    session.etcd().set(LAST_KEY, _planet(args.planet))  # a dry run prints it instead


def _last(session, args):
    last = session.etcd().get(LAST_KEY)
    if last is None:
        raise CommandError("no planet remembered yet; `hello remember PLANET`")
    session.echo(last)


def _planets(session, prefix):
    return [Candidate(p, d) for p, d in PLANETS.items() if p.startswith(prefix)]


@hookimpl
def kshell_commands(register):
    def greet_args(parser):
        parser.add_argument("planet", help="who to greet")
        parser.add_argument("--loud", type=int, default=0, help="how many exclamation marks")

    planet = {"planet": _planets}
    register(Command("hello greet", "Greet a planet", _greet, arguments=greet_args,
                     completers=planet, read_only=True))  # fmt: skip
    register(Command("hello remember", "Keep a planet in etcd", _remember,
                     arguments=lambda p: p.add_argument("planet"), completers=planet))  # fmt: skip
    register(Command("hello last", "The planet kept in etcd", _last, read_only=True))
    register(raw_tool(TOOL.name, "Run the pinned hello-tool with the context applied"))


@hookimpl
def kshell_status(session):
    last = session.etcd(timeout=1.0).get(LAST_KEY)  # an EtcdError becomes the status line
    return [f"greeting {session.context.get('hello.greeting')!r}, last planet {last or '-'}"]


@hookimpl
def kshell_checks(session):
    if session.context.get("hello.greeting") == "hello":
        return [Check("greeting", "warn", "the default greeting", "context set hello.greeting hi")]
    return [Check("greeting", "ok", session.context.get("hello.greeting"))]


@hookimpl
def kshell_context_sources(session):
    # A value the plugin finds itself (here: a variable), shown by `context` with its source.
    import os

    if os.environ.get("HELLO_PLANET"):
        return [("hello planet", _planet(os.environ["HELLO_PLANET"]), "env HELLO_PLANET")]
    return [("hello planet", "-", "unset")]
