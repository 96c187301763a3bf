"""Rudder's network config and its leases, as rudder read them in September 2014.

Pure functions, no I/O. The config is the JSON at ``/coreos.com/network/config``::

    {"Network": "10.0.0.0/16", "SubnetLen": 24, "SubnetMin": "10.0.1.0",
     "SubnetMax": "10.0.255.0", "Backend": {"Type": "udp"}}

Only ``Network`` is required. Rudder's defaults: ``SubnetLen`` 24 (one more than the
network's prefix when the network is /24 or smaller), ``SubnetMin`` the second subnet
(rudder skips the first), ``SubnetMax`` the last one, backend ``udp``. Go's JSON
decoder matched keys case-insensitively and ignored unknown ones; so do we, but an
unknown key is noted, since a misspelt setting is silently dropped by rudder.

A lease is the key ``/coreos.com/network/subnets/10.0.5.0-24`` with a JSON value
``{"PublicIP": "10.1.1.180"}`` and a TTL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from . import BACKENDS  # one definition, in the plugin module

DEFAULT_SUBNET_LEN = 24
MAX_SUBNET_LEN = 30
"""A /31 or /32 leaves no address for the docker bridge and its containers."""

_KEYS = ("Network", "SubnetLen", "SubnetMin", "SubnetMax", "Backend")
_OCTET = r"(?:0|[1-9][0-9]{0,2})"
_ADDRESS = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_CIDR = re.compile(rf"({_OCTET}(?:\.{_OCTET}){{3}})/(0|[1-9][0-9]?)")


class NetConfigError(ValueError):
    """The config is unusable; ``problems`` says why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class NetConfig:
    """A valid config with rudder's defaults filled in; ``given`` names the keys it carries."""

    network: IPv4Network
    subnet_len: int
    subnet_min: IPv4Address
    subnet_max: IPv4Address
    backend: str = "udp"
    given: frozenset[str] = frozenset({"Network"})
    notes: tuple[str, ...] = ()
    """Remarks that do not stop rudder (unknown keys)."""

    @property
    def subnet_count(self) -> int:
        """How many hosts can lease a subnet."""
        size = 1 << (32 - self.subnet_len)
        return (int(self.subnet_max) - int(self.subnet_min)) // size + 1

    def effective(self) -> tuple:
        """What rudder acts on: two configs with equal ``effective()`` behave the same."""
        return (self.network, self.subnet_len, self.subnet_min, self.subnet_max, self.backend)

    def to_json(self) -> str:
        """The value to store: the given keys only, compact, as the seed wrote it."""
        data: dict[str, object] = {"Network": str(self.network)}
        if "SubnetLen" in self.given:
            data["SubnetLen"] = self.subnet_len
        if "SubnetMin" in self.given:
            data["SubnetMin"] = str(self.subnet_min)
        if "SubnetMax" in self.given:
            data["SubnetMax"] = str(self.subnet_max)
        if "Backend" in self.given:
            data["Backend"] = {"Type": self.backend}
        return json.dumps(data, separators=(",", ":"))

    def as_dict(self) -> dict[str, object]:
        return {
            "network": str(self.network),
            "subnet_len": self.subnet_len,
            "subnet_min": str(self.subnet_min),
            "subnet_max": str(self.subnet_max),
            "subnets": self.subnet_count,
            "backend": self.backend,
            "defaults": sorted(set(_KEYS) - self.given),
            "notes": list(self.notes),
        }


def parse_network(text: object) -> IPv4Network:
    """``a.b.c.d/len`` with no host bits set; anything else raises NetConfigError."""
    if not isinstance(text, str):
        raise NetConfigError([f"Network must be a string like 10.0.0.0/16, not {_show(text)}"])
    m = _CIDR.fullmatch(text)
    if not m or int(m.group(2)) > 32:
        raise NetConfigError([f"Network {_show(text)} is not an IPv4 CIDR like 10.0.0.0/16"])
    try:
        address = IPv4Address(m.group(1))
    except ValueError:
        raise NetConfigError(
            [f"Network {_show(text)} is not an IPv4 CIDR like 10.0.0.0/16"]
        ) from None
    network = IPv4Network((address, int(m.group(2))), strict=False)
    if network.network_address != address:
        raise NetConfigError([f"Network {text} has host bits set; did you mean {network}?"])
    return network


def parse_address(name: str, text: object) -> IPv4Address:
    if not isinstance(text, str) or not _ADDRESS.fullmatch(text):
        raise NetConfigError([f"{name} {_show(text)} is not an IPv4 address like 10.0.1.0"])
    try:
        return IPv4Address(text)
    except ValueError:
        raise NetConfigError(
            [f"{name} {_show(text)} is not an IPv4 address like 10.0.1.0"]
        ) from None


def build_config(
    network: object,
    subnet_len: object = None,
    subnet_min: object = None,
    subnet_max: object = None,
    backend: object = None,
) -> NetConfig:
    """Check the settings together and fill in rudder's defaults.

    ``None`` means "not given"; ``backend`` is a type name (``"udp"``). Raises
    :class:`NetConfigError` listing every problem found, and nothing else, whatever
    the arguments.
    """
    values = {"Network": network, "SubnetLen": subnet_len, "SubnetMin": subnet_min,
              "SubnetMax": subnet_max}  # fmt: skip
    if backend is not None:
        values["Backend"] = {"Type": backend}
    return _build(values, [], ())


def _build(values: dict[str, object], problems: list[str], notes: tuple[str, ...]) -> NetConfig:
    given = {k for k, v in values.items() if v is not None} | {"Network"}
    try:
        net: IPv4Network | None = parse_network(values.get("Network"))
    except NetConfigError as e:
        problems += e.problems
        net = None

    length = values.get("SubnetLen")
    if length is None:
        if net is not None:
            length = DEFAULT_SUBNET_LEN if net.prefixlen < DEFAULT_SUBNET_LEN else net.prefixlen + 1
    elif isinstance(length, bool) or not isinstance(length, int):
        problems.append(f"SubnetLen must be a whole number, not {_show(length)}")
        length = None
    if length is not None:
        assert isinstance(length, int)
        why = "" if "SubnetLen" in given else " (the default)"
        if net is not None and length <= net.prefixlen:
            problems.append(
                f"SubnetLen {_show(length)}{why} must be longer than the network's /{net.prefixlen}"
            )
            length = None
        elif length > MAX_SUBNET_LEN or length < 1:
            problems.append(
                f"SubnetLen {_show(length)}{why} is out of range: at most {MAX_SUBNET_LEN}, "
                "or no addresses are left for containers"
            )
            length = None

    bounds: dict[str, IPv4Address] = {}
    for name in ("SubnetMin", "SubnetMax"):
        if name not in given:
            continue
        try:
            address = parse_address(name, values[name])
        except NetConfigError as e:
            problems += e.problems
            continue
        if net is not None and address not in net:
            problems.append(f"{name} {address} is outside the network {net}")
            continue
        if length is not None:
            start = IPv4Address(int(address) >> (32 - length) << (32 - length))
            if start != address:
                problems.append(
                    f"{name} {address} does not start a /{length} subnet ({start} does)"
                )
                continue
        bounds[name] = address

    kind = _backend(values["Backend"], problems) if "Backend" in given else "udp"

    if net is None or length is None or problems:
        raise NetConfigError(problems)
    size = 1 << (32 - length)
    low = bounds.get("SubnetMin") or IPv4Address(int(net.network_address) + size)
    high = bounds.get("SubnetMax") or IPv4Address(int(net.broadcast_address) + 1 - size)
    if low > high:
        which = "SubnetMin" if "SubnetMin" in given else "the default SubnetMin"
        other = "SubnetMax" if "SubnetMax" in given else "the default SubnetMax"
        raise NetConfigError([f"{which} {low} is above {other} {high}"])
    return NetConfig(net, length, low, high, kind, frozenset(given), notes)


def _backend(value: object, problems: list[str]) -> str:
    """The type of ``{"Type": "udp"}`` (Go matched "type" too; so do we)."""
    found = _lookup(value, "Type") if isinstance(value, dict) else None
    kind = found[1] if found else None
    if not isinstance(kind, str):
        problems.append(f'Backend must be like {{"Type": "udp"}}, not {_show(value)}')
        return "udp"
    if kind.lower() not in BACKENDS:
        problems.append(
            f"Backend type {_show(kind)} is not one rudder (Sept 2014) has: " + ", ".join(BACKENDS)
        )
    return kind.lower()


def parse_config(text: str) -> NetConfig:
    """Parse the stored JSON the way rudder did; raises :class:`NetConfigError`."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise NetConfigError([f"the config is not JSON: {e}"]) from None
    if not isinstance(data, dict):
        raise NetConfigError([f"the config must be a JSON object, not {_show(data)}"])
    values: dict[str, object] = {}
    for key in _KEYS:
        found = _lookup(data, key)
        if found is not None:
            values[key] = found[1]
    known = {k.lower() for k in _KEYS}
    notes = tuple(
        f"unknown key {_show(k)} (rudder ignores it)" for k in data if k.lower() not in known
    )
    if "Network" not in values:
        raise NetConfigError(['the config has no "Network" (e.g. {"Network":"10.0.0.0/16"})'])
    return _build(values, [], notes)


def _lookup(data: dict, key: str) -> tuple[str, object] | None:
    """Go's rule: the exact key, else the first key equal to it ignoring case."""
    if key in data:
        return key, data[key]
    for k, v in data.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return k, v
    return None


def _show(value: object) -> str:
    """A user's value, quoted and cut short, for a problem sentence."""
    try:
        text = repr(value) if isinstance(value, str) else json.dumps(value)
    except (TypeError, ValueError, RecursionError):  # not JSON, or an enormous number
        text = "an enormous number" if isinstance(value, int) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


# -- leases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    subnet: IPv4Network | None
    """None when the key is not a subnet (shown as it is)."""
    key: str
    public_ip: str | None
    ttl: int | None
    """Seconds left; None when the lease never expires."""


def lease_subnet(key: str) -> IPv4Network | None:
    """``…/subnets/10.0.5.0-24`` → 10.0.5.0/24 (None for anything else)."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    address, sep, length = name.rpartition("-")
    if not sep:
        return None
    try:
        return parse_network(f"{address}/{length}")
    except NetConfigError:
        return None


def lease_public_ip(value: str | None) -> str | None:
    """The ``PublicIP`` of a lease's (or a fleet machine's) JSON value, None when absent."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    found = _lookup(data, "PublicIP")
    if found is None or not isinstance(found[1], str):
        return None
    try:
        return str(IPv4Address(found[1]))
    except ValueError:
        return None


def format_duration(seconds: int | None) -> str:
    """23h59m, 4m05s, 42s; "never" without a TTL."""
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
