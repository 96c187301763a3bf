"""fleetctl 0.8.1's TAB-padded tables, parsed into records.

fleetctl writes its lists with Go's ``text/tabwriter`` using TAB as the padding
character: columns are separated by one or more TABs and cells never contain one.
Headers are the ``--fields`` names uppercased (``MACHINE IP METADATA``, ``UNIT
MACHINE ACTIVE SUB``, ``UNIT HASH DSTATE STATE TARGET``); ``-`` is a missing value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TABS = re.compile(r"\t+")

MACHINE_FIELDS = ("machine", "ip", "metadata")
UNIT_FIELDS = ("unit", "machine", "active", "sub")
UNIT_FILE_FIELDS = ("unit", "hash", "dstate", "state", "target")

UNIT_SUFFIXES = ("service", "socket", "timer", "path", "device", "mount", "automount")


def split_row(line: str) -> list[str]:
    """One table line split on runs of TABs."""
    return _TABS.split(line.rstrip("\r\n"))


def parse_table(text: str, fields: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """Rows as dicts keyed by lower-cased header names.

    With ``fields`` the text has no header line (``--no-legend``); otherwise the
    first non-empty line is the header.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if fields is None:
        if not lines:
            return []
        fields = tuple(cell.strip().lower() for cell in split_row(lines[0]))
        lines = lines[1:]
    rows = []
    for line in lines:
        cells = split_row(line)
        if len(cells) < len(fields):
            cells += ["-"] * (len(fields) - len(cells))
        elif len(cells) > len(fields):  # should not happen; keep the tail in the last cell
            cells = cells[: len(fields) - 1] + [" ".join(cells[len(fields) - 1 :])]
        rows.append({k: v.strip() for k, v in zip(fields, cells)})
    return rows


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


def machines(text: str, legend: bool = True) -> list[Machine]:
    rows = parse_table(text, None if legend else MACHINE_FIELDS)
    return [
        Machine(r["machine"], _value(r.get("ip")), parse_metadata(r.get("metadata")))
        for r in rows
        if _value(r.get("machine"))
    ]


def units(text: str, legend: bool = True) -> list[UnitState]:
    out = []
    for r in parse_table(text, None if legend else UNIT_FIELDS):
        machine, ip = split_machine_cell(r.get("machine"))
        out.append(UnitState(r["unit"], machine, ip, _value(r.get("active")), _value(r.get("sub"))))
    return out


def unit_files(text: str, legend: bool = True) -> list[UnitFile]:
    out = []
    for r in parse_table(text, None if legend else UNIT_FILE_FIELDS):
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


def unit_name(word: str) -> str:
    """The unit fleetctl 0.8.1 makes of an argument: basename, ``.service`` when no suffix."""
    name = word.rstrip("/").rsplit("/", 1)[-1]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix not in UNIT_SUFFIXES:
        name += ".service"
    return name
