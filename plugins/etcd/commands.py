"""``etcd ls/get/set/mk/mkdir/rm/rmdir/update/setdir/watch`` over the pinned etcdctl 0.4.6.

argv is always ``[command, command flags..., "--", positionals...]``: etcdctl 0.4.6 moves
everything from the first ``-`` argument to the front before parsing flags, so the ``--``
must come before every positional for a value such as ``-1`` to stay a value (the same
order works with etcdctl 2.x/3.x in v2 mode). The tool's own output, messages and exit
status pass through, except when etcd cannot be reached: then one line says where and
what to do, with etcdctl's status (2).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence

from kshell import Command, CommandError

from . import endpoint
from .complete import complete_key

TOOL = "etcdctl"
TIMEOUT = 60.0
"""Seconds before a non-watch etcdctl call is stopped (an endpoint that drops packets)."""

# etcdctl 0.4.6 says `Cannot sync with the cluster using peers …`; 2.x/3.x say
# `client: etcd cluster is unavailable or misconfigured; error #0: dial tcp …`.
_UNREACHABLE = ("Cannot sync with the cluster", "cluster is unavailable or misconfigured")
_REASON = re.compile(
    r"(connection refused|no such host|i/o timeout|no route to host|network is unreachable|"
    r"connection reset by peer|certificate signed by unknown authority|server misbehaving|"
    r"context deadline exceeded|timeout)"
)


def is_unreachable(stderr: str) -> bool:
    return any(text in stderr for text in _UNREACHABLE)


def unreachable_line(session, stderr: str) -> str:
    """One line for an etcdctl that could not reach etcd."""
    context = session.context
    m = _REASON.search(stderr)
    if m:
        return endpoint.cannot_reach(context, m.group(1))
    # etcdctl 0.4.6 gives no reason: ask the endpoint ourselves (briefly).
    from .v2 import Unreachable

    try:
        machines = endpoint.client(context, 1.0).machines()
    except Unreachable as e:
        return endpoint.cannot_reach(context, e.reason)
    except Exception:  # noqa: BLE001 - any other failure: say what etcdctl said
        return endpoint.cannot_reach(context, "etcdctl cannot sync with the cluster")
    advertised = ", ".join(machines) or "no client URLs"
    return (
        f"etcd at {endpoint.shown(context)} answers but advertises {advertised}, which "
        "etcdctl (it syncs to those) cannot reach from here; fix etcd's advertised client "
        "URLs or run `etcdctl --no-sync …`"
    )


def _emit(session, text: str, write: Callable[[str], None]) -> None:
    if text.endswith("\n"):
        text = text[:-1]
    if text:
        for line in text.split("\n"):
            write(line)


def run_etcdctl(session, argv: Sequence[str], *, silent_ok: bool = False) -> int:
    """Run etcdctl with ``argv``, pass its output through, and map an unreachable etcd."""
    # Output to show as is streams straight to the terminal (a 20 000-key `ls -r` in one
    # go); only stderr is read, to turn an unreachable etcd into one line.
    capture = True if silent_ok else "stderr"
    result = session.run(TOOL, list(argv), capture=capture, timeout=TIMEOUT)
    stdout = result.stdout
    if silent_ok and not stdout.strip():
        stdout = ""  # rm/mkdir/… may print one empty line: nothing to show
    if result.status != 0 and is_unreachable(result.stderr):
        _emit(session, stdout, session.echo)
        raise CommandError(unreachable_line(session, result.stderr), result.status)
    _emit(session, stdout, session.echo)
    _emit(session, result.stderr, session.warn)
    return result.status


# -- argument helpers ------------------------------------------------------------


def _ttl(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return n


def _key(p: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        p.add_argument("key", metavar="KEY", nargs="?", help="key or directory (default /)")
    else:
        p.add_argument("key", metavar="KEY", help="the key (a leading / is optional)")


def _value(p: argparse.ArgumentParser) -> None:
    p.add_argument("value", metavar="VALUE", help="the value (for one starting with -: KEY -- -x)")


def _ttl_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ttl", type=_ttl, metavar="N", help="expire after N seconds")


def _ttl_argv(args: argparse.Namespace) -> list[str]:
    return ["--ttl", str(args.ttl)] if getattr(args, "ttl", None) is not None else []


# -- handlers --------------------------------------------------------------------


def _ls(session, args):
    flags = ["--recursive"] if args.recursive else []
    tail = ["--", args.key] if args.key else []
    return run_etcdctl(session, ["ls", *flags, *tail])


def _get(session, args):
    flags = ["--sort"] if args.sort else []
    return run_etcdctl(session, ["get", *flags, "--", args.key])


def _writer(name: str) -> Callable:
    def handler(session, args):
        return run_etcdctl(session, [name, *_ttl_argv(args), "--", args.key, args.value])

    return handler


def _dir_writer(name: str) -> Callable:
    def handler(session, args):
        return run_etcdctl(session, [name, *_ttl_argv(args), "--", args.key], silent_ok=True)

    return handler


def _rm(session, args):
    flags = (["--recursive"] if args.recursive else []) + (["--dir"] if args.dir else [])
    return run_etcdctl(session, ["rm", *flags, "--", args.key], silent_ok=True)


def _rmdir(session, args):
    return run_etcdctl(session, ["rmdir", "--", args.key], silent_ok=True)


def _watch(session, args):
    flags = (["--forever"] if args.forever else []) + (["--recursive"] if args.recursive else [])
    argv = ["watch", *flags, "--", args.key]
    if not session.dry_run:
        # The watch streams (or owns the terminal), so its stderr cannot be read
        # afterwards: make sure etcd answers before handing over.
        from .v2 import Unreachable

        try:
            endpoint.client(session.context, 2.0).request("/v2/machines")
        except Unreachable as e:
            raise CommandError(endpoint.cannot_reach(session.context, e.reason), 2) from None
    result = session.run(TOOL, argv, terminal=session.interactive)
    if result.status == 130 and session.interactive:
        return 0  # Ctrl-C is how a watch ends at the prompt
    return result.status


# -- the table -------------------------------------------------------------------


def commands() -> list[Command]:
    keys = {"key": complete_key}

    def ls_args(p):
        p.add_argument("-r", "--recursive", action="store_true", help="list every key below")
        _key(p, optional=True)

    def get_args(p):
        _key(p)
        p.add_argument("--sort", action="store_true", help="sorted output (directories)")

    def write_args(p):
        _key(p)
        _value(p)
        _ttl_flag(p)

    def dir_args(p):
        _key(p)
        _ttl_flag(p)

    def rm_args(p):
        _key(p)
        p.add_argument("-r", "--recursive", action="store_true", help="remove a whole directory")
        p.add_argument("--dir", action="store_true", help="remove an empty directory or a key")

    def watch_args(p):
        _key(p)
        p.add_argument("--forever", action="store_true", help="keep watching until Ctrl-C")
        p.add_argument("-r", "--recursive", action="store_true", help="watch the keys below too")

    return [
        Command("etcd ls", "List a directory (etcdctl ls)", _ls, ls_args, keys, read_only=True),
        Command("etcd get", "Print a key's value (etcdctl get)", _get, get_args, keys,
                read_only=True),
        Command("etcd set", "Set a key's value (etcdctl set)", _writer("set"), write_args, keys),
        Command("etcd mk", "Create a key; fails if it exists (etcdctl mk)", _writer("mk"),
                write_args, keys),
        Command("etcd update", "Change an existing key (etcdctl update)", _writer("update"),
                write_args, keys),
        Command("etcd mkdir", "Create a directory; fails if it exists (etcdctl mkdir)",
                _dir_writer("mkdir"), dir_args, keys),
        Command("etcd setdir", "Create a directory or change its TTL (etcdctl setdir)",
                _dir_writer("setdir"), dir_args, keys),
        Command("etcd rm", "Remove a key, or a directory with -r/--dir (etcdctl rm)", _rm,
                rm_args, keys),
        Command("etcd rmdir", "Remove an empty directory (etcdctl rmdir)", _rmdir,
                lambda p: _key(p), keys),
        Command("etcd watch", "Wait for a change of a key; Ctrl-C stops (etcdctl watch)",
                _watch, watch_args, keys, read_only=True),
    ]  # fmt: skip
