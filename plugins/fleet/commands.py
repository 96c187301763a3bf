"""The ``fleet …`` command table: names, parsers, completers.

Kept light: the handlers (``handlers``) and completers (``complete``) are imported on
first use, so loading the plugin costs next to nothing at start-up.
"""

from __future__ import annotations

import argparse

from kshell import Command, lazy

DEFAULT_WAIT = 30.0


def _handler(name: str, *extra):
    return lazy(f"{__package__}.handlers", name, *extra)


def _completer(name: str):
    return lazy(f"{__package__}.complete", name)


# -- arguments --


MAX_WAIT = 86400.0
"""A day: longer bounded waits are a typo (``1e999`` would overflow every clock)."""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from e
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    if not value <= MAX_WAIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_WAIT:g} seconds (a day)")
    return value


def _meta(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", "-l", action="store_true", help="whole machine IDs and hashes")
    p.add_argument("--json", action="store_true", help="records as JSON")


def _machines_args(p: argparse.ArgumentParser) -> None:
    _list_args(p)
    p.add_argument("--role", action="append", default=[], help="only machines with role=ROLE")
    p.add_argument(
        "--meta",
        action="append",
        type=_meta,
        default=[],
        metavar="KEY=VALUE",
        help="only machines with this metadata (repeatable; one key given twice: either)",
    )


def _state_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("units", nargs="+", metavar="UNIT", help="unit names or unit files")
    p.add_argument("--no-block", action="store_true", help="do not wait for the unit")
    p.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_WAIT,
        metavar="S",
        help=f"seconds to wait for the unit (default {DEFAULT_WAIT:g})",
    )


def _units_arg(p: argparse.ArgumentParser, nargs="+") -> None:
    p.add_argument("units", nargs=nargs, metavar="UNIT")


def _submit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("units", nargs="+", metavar="FILE", help="unit files")


def _unit_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("unit", metavar="UNIT")


def _journal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("unit", metavar="UNIT")
    p.add_argument("-n", "--lines", type=int, default=None, metavar="N", help="last N lines")
    p.add_argument("-f", "--follow", action="store_true", help="keep following the journal")


def _ssh_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-A", "--forward-agent", action="store_true", help="forward the SSH agent")
    p.add_argument("target", metavar="MACHINE|UNIT", help="machine ID (prefix), IP or unit")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD", help="remote command")


def _wait_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("units", nargs="+", metavar="UNIT")
    p.add_argument(
        "--state",
        default="active",
        help="ACTIVE or SUB state every machine must report (default active)",
    )
    p.add_argument("--timeout", type=_positive, default=60.0, metavar="S", help="default 60")
    p.add_argument(
        "--interval", type=_positive, default=2.0, metavar="S", help="poll every S (default 2)"
    )


# -- the table --


def commands() -> list[Command]:
    units_c = {"units": _completer("units")}
    files_c = {"units": _completer("units_and_files")}
    out = [
        Command(
            "fleet machines",
            "List the fleet machines (ID, IP, metadata); --role/--meta filter",
            _handler("list_machines"),
            arguments=_machines_args,
            completers={"role": _completer("roles"), "meta": _completer("metadata")},
            read_only=True,
        ),
        Command(
            "fleet units",
            "List unit states: unit, machine, active, sub",
            _handler("list_units"),
            arguments=_list_args,
            read_only=True,
        ),
        Command(
            "fleet unit-files",
            "List unit files: hash, desired state, current state, target",
            _handler("list_unit_files"),
            arguments=_list_args,
            read_only=True,
        ),
        Command(
            "fleet submit",
            "Submit unit files to the cluster",
            _handler("submit"),
            arguments=_submit_args,
            completers={"units": _completer("files")},
        ),
        Command(
            "fleet destroy",
            "Destroy units (stop, unload and remove them from the registry)",
            _handler("destroy"),
            arguments=_units_arg,
            completers=units_c,
        ),
        Command(
            "fleet cat",
            "Print a unit file from the registry",
            _handler("cat"),
            arguments=_unit_arg,
            completers={"unit": _completer("units")},
            read_only=True,
        ),
        Command(
            "fleet status",
            "systemctl status of units, on their machines",
            _handler("status"),
            arguments=lambda p: _units_arg(p),
            completers=units_c,
            read_only=True,
        ),
        Command(
            "fleet journal",
            "The journal of a unit, on its machine (-f follows)",
            _handler("journal"),
            arguments=_journal_args,
            completers={"unit": _completer("units")},
            read_only=True,
        ),
        Command(
            "fleet ssh",
            "SSH to a machine (ID prefix or IP) or to the machine running a unit",
            _handler("ssh"),
            arguments=_ssh_args,
            completers={"target": _completer("ssh_targets")},
        ),
        Command(
            "fleet version",
            "fleetctl's version and the fleet versions the cluster reports",
            _handler("show_version"),
            read_only=True,
        ),
        Command(
            "fleet wait",
            "Wait until units reach a state (default active) on all their machines",
            _handler("wait_units"),
            arguments=_wait_args,
            completers={"units": _completer("units")},
            read_only=True,
        ),
    ]
    helps = {
        "start": "Start units and wait (bounded) until they are launched",
        "load": "Load units on machines and wait (bounded) until they are loaded",
        "stop": "Stop units and wait (bounded) until they are loaded (not running)",
        "unload": "Unload units and wait (bounded) until they are inactive",
    }
    for name, help in helps.items():
        out.append(
            Command(
                f"fleet {name}",
                help,
                _handler("state_change", name),
                arguments=_state_args,
                completers=files_c if name in ("start", "load") else units_c,
            )
        )
    return out
