"""What fleetctl 0.8.1 writes on stderr, split into what the user should read.

Three kinds of lines arrive there:

- Go log lines, ``YYYY/MM/DD HH:MM:SS LEVEL file.go:N: message`` (retries while
  etcd does not answer, many of them);
- the version-mismatch banner, a block of ``####`` lines around a WARNING;
- the messages proper (``Unit hello.service not found``, ``Error …``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LOG_LINE = re.compile(
    r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? (?:INFO|WARN|WARNING|ERROR|FATAL) "
    r"[\w.-]+\.go:\d+: ?"
)
_RULE = re.compile(r"^#{10,}\s*$")
_BANNER_VERSIONS = re.compile(
    r"fleetctl \(([^)]*)\) is older than the latest registered\s+version of fleet found in "
    r"the cluster \(([^)]*)\)",
    re.S,
)
UNREACHABLE_HINTS = (
    "timeout reached",
    "Failed getting response from",
    "Unable to initialize client",
    "connection refused",
    "no such host",
    "i/o timeout",
)


@dataclass
class Stderr:
    messages: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    banner: bool = False
    cluster_version: str | None = None
    """The newer fleet version the banner named, when there was a banner."""

    @property
    def unreachable(self) -> bool:
        """The logs or the final message say etcd did not answer."""
        text = "\n".join(self.logs + self.messages[-1:])
        return any(hint in text for hint in UNREACHABLE_HINTS)


def split_stderr(text: str) -> Stderr:
    out = Stderr()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _RULE.match(line):
            # A banner: rule, text, rule. Take everything up to the closing rule.
            end = i + 1
            while end < len(lines) and not _RULE.match(lines[end]):
                end += 1
            block = "\n".join(lines[i + 1 : end])
            if "WARNING" in block and end < len(lines):
                out.banner = True
                m = _BANNER_VERSIONS.search(block)
                if m:
                    out.cluster_version = m.group(2).strip()
                i = end + 1
                continue
        if LOG_LINE.match(line):
            out.logs.append(line)
        elif line.strip():
            out.messages.append(line)
        i += 1
    return out
