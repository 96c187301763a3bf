"""The pinned fleetctl against the fleet versions the cluster's machines report.

fleetctl 0.8.1 compares itself with the highest semantic version found in the
``Version`` field of the machine objects (``<prefix>machines/*/object``) and prints
a five-line ``####`` banner when it is older. kshell reads the same data and says
it in one line, with what to do about it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def parse_version(text: str | None) -> tuple | None:
    """A sortable key for a semantic version (build metadata ignored), or None."""
    m = _SEMVER.match((text or "").strip())
    if not m:
        return None
    major, minor, patch, pre = m.groups()
    if pre is None:
        pre_key: tuple = (1,)  # a release sorts after its pre-releases
    else:
        pre_key = (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (int(major), int(minor), int(patch), pre_key)


def newest(versions) -> str | None:
    """The highest parsable version, as fleetctl picks it (unparsable ones skipped)."""
    best = None
    for v in versions:
        key = parse_version(v)
        if key is not None and (best is None or key > best[0]):
            best = (key, v)
    return best[1] if best else None


@dataclass
class Comparison:
    pinned: str
    versions: Counter
    """Version → number of machines reporting it (empty: no machines)."""

    @property
    def newest(self) -> str | None:
        return newest(self.versions)

    @property
    def cluster_newer(self) -> bool:
        n = self.newest
        return n is not None and parse_version(n) > parse_version(self.pinned)

    @property
    def cluster_older(self) -> bool:
        keys = [parse_version(v) for v in self.versions]
        keys = [k for k in keys if k is not None]
        return bool(keys) and max(keys) < parse_version(self.pinned)

    def summary(self) -> str:
        if not self.versions:
            return "no machines registered"
        parts = [
            f"{v} on {n} machine{'s' if n != 1 else ''}"
            for v, n in sorted(self.versions.items(), key=lambda vn: parse_version(vn[0]) or ())
        ]
        return "fleet " + ", ".join(parts)


def compare(pinned: str, versions) -> Comparison:
    return Comparison(pinned, Counter(v or "unknown" for v in versions))


def newer_line(cluster: str, pinned: str) -> str:
    """The one line shown instead of fleetctl's banner."""
    return (
        f"fleet: the cluster runs fleet {cluster}, newer than the pinned fleetctl {pinned}; "
        f"commands may misbehave (get fleetctl {cluster} and `bin use fleetctl PATH`)"
    )


def remedy(cluster: str) -> str:
    return (
        f"run a fleetctl matching the cluster: download fleet v{cluster} from "
        f"https://github.com/coreos/fleet/releases and `bin use fleetctl PATH/fleetctl`"
    )
