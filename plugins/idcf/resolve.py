"""Names or ids wherever the API wants an id; an ambiguous name lists its matches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kshell import CommandError


@dataclass(frozen=True)
class Kind:
    what: str  # "zone"
    command: str  # "listZones"
    key: str  # "zone": the list in the response
    params: tuple[tuple[str, str], ...] = ()
    listing: str = ""  # the kshell command that lists them
    label: str = "name"  # the field a user types besides the id
    ident: str = "id"


ZONE = Kind("zone", "listZones", "zone", listing="idcf zones")
OFFERING = Kind("offering", "listServiceOfferings", "serviceoffering", listing="idcf offerings")
DISK_OFFERING = Kind(
    "disk offering", "listDiskOfferings", "diskoffering", listing="idcf disk-offerings"
)
TEMPLATE = Kind(
    "template", "listTemplates", "template", (("templatefilter", "executable"),),
    listing="idcf templates",
)  # fmt: skip
ISO = Kind("ISO", "listIsos", "iso", (("isofilter", "executable"),), listing="idcf isos --all")
OWN_ISO = Kind("ISO", "listIsos", "iso", (("isofilter", "self"),), listing="idcf isos")
VM = Kind("VM", "listVirtualMachines", "virtualmachine", listing="idcf vms")
KEYPAIR = Kind(
    "key pair", "listSSHKeyPairs", "sshkeypair", listing="idcf keypair list",
    ident="fingerprint",
)  # fmt: skip
OSTYPE = Kind("OS type", "listOsTypes", "ostype", label="description")

KINDS = {k.what: k for k in (ZONE, OFFERING, DISK_OFFERING, TEMPLATE, ISO, VM, KEYPAIR)}


def items(client, kind: Kind, **filters: Any) -> list[dict[str, Any]]:
    return client.list(kind.command, kind.key, **dict(kind.params), **filters)


def describe(kind: Kind, item: dict[str, Any]) -> str:
    extra = [item.get(kind.ident, "?")]
    if item.get("zonename"):
        extra.append(f"zone {item['zonename']}")
    if item.get("state"):
        extra.append(str(item["state"]))
    return f"{item.get(kind.label)} ({', '.join(str(e) for e in extra)})"


def pick(kind: Kind, found: list[dict[str, Any]], value: str) -> dict[str, Any]:
    """The item whose id (exactly) or name (exactly, case-sensitively) is ``value``."""
    by_id = [i for i in found if str(i.get(kind.ident)) == value]
    if by_id:
        return by_id[0]
    named = [i for i in found if str(i.get(kind.label)) == value]
    if len(named) == 1:
        return named[0]
    if named:
        listed = "; ".join(describe(kind, i) for i in named)
        raise CommandError(f"{len(named)} {kind.what}s are named `{value}`: {listed}; "
                           f"give the {kind.ident} instead", 1)  # fmt: skip
    near = sorted({str(i.get(kind.label)) for i in found if value.lower() in
                   str(i.get(kind.label)).lower()})  # fmt: skip
    hint = f"; did you mean: {', '.join(near[:5])}?" if near else ""
    where = f" (`{kind.listing}` lists them)" if kind.listing else ""
    raise CommandError(f"no {kind.what} named `{value}`{hint}{where}", 1)


def find(client, kind: Kind, value: str, **filters: Any) -> dict[str, Any]:
    return pick(kind, items(client, kind, **filters), value)
