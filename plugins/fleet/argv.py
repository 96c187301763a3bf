"""fleetctl 0.8.1 argv, with every flag where its Go ``flag`` parsing needs it.

``fleetctl <global flags> <command> <command flags> <units>``: parsing stops at the
first non-flag word, so ``fleetctl start hello.service --no-block`` would take
``--no-block`` for a unit. The global flags come from the context (the tool-env
hook puts them before everything kshell passes); this module orders the rest.
kshell's own parsers accept the user's words in any order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

POLL_INTERVAL = 0.5
"""fleetctl's blocking commands check the unit every 500 ms."""

DESIRED = {"start": "launched", "load": "loaded", "stop": "loaded", "unload": "inactive"}
"""The state a blocking command waits for."""


def command(name: str, flags: Sequence[str] = (), operands: Sequence[str] = ()) -> list[str]:
    """``<command> <flags> <operands>``; a ``--`` keeps operands that look like flags."""
    operands = list(operands)
    sep = ["--"] if any(o.startswith("-") for o in operands) else []
    return [name, *flags, *sep, *operands]


def block_attempts(timeout: float) -> int:
    """``--block-attempts`` for waiting ``timeout`` seconds (at least one attempt)."""
    return max(1, math.ceil(timeout / POLL_INTERVAL - 1e-9))


def state_change(
    name: str, units: Sequence[str], *, no_block: bool = False, timeout: float = 30.0
) -> list[str]:
    """start / load / stop / unload: never the default that waits forever."""
    flag = "--no-block" if no_block else f"--block-attempts={block_attempts(timeout)}"
    return command(name, [flag], units)


def journal(unit: str, lines: int | None = None, follow: bool = False) -> list[str]:
    flags = []
    if lines is not None:
        flags.append(f"--lines={lines}")
    if follow:
        flags.append("--follow")
    return command("journal", flags, [unit])


def ssh(target: str, remote: Sequence[str] = (), forward_agent: bool = False) -> list[str]:
    """``ssh [-A] TARGET [CMD…]``: what follows the target is the remote command."""
    flags = ["-A"] if forward_agent else []
    return ["ssh", *flags, target, *remote]
