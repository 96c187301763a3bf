"""fleetctl 0.8.1's TAB-padded tables, parsed into records.

fleetctl writes its lists with Go's ``text/tabwriter`` (tab width 8, padding 1, TAB as
the padding character): once TABs are expanded every column starts at the same
multiple of 8 on every line. Cells can be empty (a unit state with no active or sub
state is an empty cell, not ``-``), and an empty cell is just one more TAB, so splitting
on runs of TABs would shift the later cells left. Rows are therefore cut at the column
starts of the header line (``kshell.parse_tabwriter_table``), which kshell always asks
for (it never passes ``--no-legend``). Headers are the ``--fields`` names uppercased
(``MACHINE IP METADATA``, ``UNIT MACHINE ACTIVE SUB``, ``UNIT HASH DSTATE STATE
TARGET``); fleetctl prints ``-`` for a missing machine, IP, metadata, hash, state or target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kshell import parse_tabwriter_table as parse_table

UNIT_SUFFIXES = ("service", "socket", "timer", "path", "device", "mount", "automount")


def _value(cell: str | None) -> str | None:
    return None if cell in (None, "", "-") else cell


def parse_metadata(cell: str | None) -> dict[str, str]:
    """``role=kubernetes,region=local`` → dict; ``-`` → {}."""
    out: dict[str, str] = {}
    if _value(cell) is None:
        return out
    for pair in cell.split(","):  # type: ignore[union-attr]
        key, sep, value = pair.partition("=")
        if key.strip():
            out[key.strip()] = value.strip() if sep else ""
    return out


def format_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(metadata.items())) or "-"


def split_machine_cell(cell: str | None) -> tuple[str | None, str | None]:
    """``2c1f1a0e.../127.0.0.1`` → (``2c1f1a0e...``, ``127.0.0.1``); ``-`` → (None, None)."""
    if _value(cell) is None:
        return None, None
    machine, sep, ip = cell.partition("/")  # type: ignore[union-attr]
    return _value(machine), _value(ip) if sep else None


def short_id(machine: str | None) -> str | None:
    """A machine ID as fleetctl prints it without ``--full``: 8 hex and ``...``."""
    if machine is None:
        return None
    if machine.endswith("...") or len(machine) <= 8:
        return machine
    return machine[:8] + "..."


def bare_id(machine: str) -> str:
    """A machine ID without the ``...`` fleetctl puts after a truncated one."""
    return machine[:-3] if machine.endswith("...") else machine


@dataclass
class Machine:
    machine: str
    ip: str | None
    metadata: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"machine": self.machine, "ip": self.ip, "metadata": dict(self.metadata)}

    def row(self, full: bool) -> tuple:
        shown = self.machine if full else short_id(self.machine)
        return (shown, self.ip or "-", format_metadata(self.metadata))

    def matches(self, wanted: dict[str, list[str]]) -> bool:
        """Every wanted key present with one of its wanted values."""
        return all(self.metadata.get(k) in values for k, values in wanted.items())


@dataclass
class UnitState:
    unit: str
    machine: str | None
    ip: str | None
    active: str | None
    sub: str | None

    def to_json(self) -> dict:
        return {
            "unit": self.unit,
            "machine": self.machine,
            "ip": self.ip,
            "active": self.active,
            "sub": self.sub,
        }

    def where(self, full: bool = False) -> str:
        if self.machine is None:
            return "-"
        shown = self.machine if full else short_id(self.machine)
        return f"{shown}/{self.ip}" if self.ip else str(shown)

    def row(self, full: bool) -> tuple:
        return (self.unit, self.where(full), self.active or "-", self.sub or "-")


@dataclass
class UnitFile:
    unit: str
    hash: str | None
    desired: str | None
    state: str | None
    machine: str | None
    ip: str | None

    @property
    def is_global(self) -> bool:
        """Global units have no single current state: fleetctl prints ``-``."""
        return self.state is None

    def to_json(self) -> dict:
        target = None if self.machine is None else {"machine": self.machine, "ip": self.ip}
        return {
            "unit": self.unit,
            "hash": self.hash,
            "desired": self.desired,
            "state": self.state,
            "target": target,
        }

    def target(self, full: bool = False) -> str:
        if self.machine is None:
            return "-"
        shown = self.machine if full else short_id(self.machine)
        return f"{shown}/{self.ip}" if self.ip else str(shown)

    def row(self, full: bool) -> tuple:
        digest = self.hash if full or self.hash is None else self.hash[:7]
        return (
            self.unit,
            digest or "-",
            self.desired or "-",
            self.state or "-",
            self.target(full),
        )


def machines(text: str) -> list[Machine]:
    rows = parse_table(text)
    return [
        Machine(r["machine"], _value(r.get("ip")), parse_metadata(r.get("metadata")))
        for r in rows
        if _value(r.get("machine"))
    ]


def units(text: str) -> list[UnitState]:
    out = []
    for r in parse_table(text):
        machine, ip = split_machine_cell(r.get("machine"))
        out.append(UnitState(r["unit"], machine, ip, _value(r.get("active")), _value(r.get("sub"))))
    return out


def unit_files(text: str) -> list[UnitFile]:
    out = []
    for r in parse_table(text):
        machine, ip = split_machine_cell(r.get("target") or r.get("tmachine"))
        out.append(
            UnitFile(
                r["unit"],
                _value(r.get("hash")),
                _value(r.get("dstate")),
                _value(r.get("state")),
                machine,
                ip,
            )
        )
    return out


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(text: str) -> str:
    """``text`` for one line of kshell's own output: control characters as escapes."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


def unit_name(word: str) -> str:
    """The unit fleetctl 0.8.1 makes of an argument: basename, ``.service`` when no suffix."""
    name = word.rstrip("/").rsplit("/", 1)[-1]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix not in UNIT_SUFFIXES:
        name += ".service"
    return name
