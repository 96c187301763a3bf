"""A third-party kshell plugin: written only against the public API."""

from kshell import Candidate, Command, CommandError, hookimpl

PLANETS = {"mercury": "closest to the sun", "mars": "the red one", "jupiter": "the big one"}


def _greet(session, args):
    if args.planet not in PLANETS:
        raise CommandError(f"no planet {args.planet!r}; try `hello greet <Tab>`", 3)
    session.echo(f"hello, {args.planet}{'!' * args.loud}")


def _planets(session, prefix):
    return [Candidate(p, d) for p, d in PLANETS.items() if p.startswith(prefix)]


@hookimpl
def kshell_commands(register):
    def arguments(parser):
        parser.add_argument("planet", help="who to greet")
        parser.add_argument("--loud", type=int, default=0, help="how many exclamation marks")

    register(
        Command(
            "hello greet",
            "Greet a planet",
            _greet,
            arguments=arguments,
            completers={"planet": _planets},
        )
    )
