"""A one-line download progress bar for a terminal: bytes, rate and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Redrawn in place at most every ``interval`` seconds; ``done()`` ends the line.

    When ``enabled`` is false every method does nothing (a pipe, a log file, a CI job).
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        enabled: bool,
        stream: TextIO | None = None,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self.received = 0
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._width = 0

    def restart(self, total: int | None) -> None:
        """A new attempt: counters back to zero."""
        self.total = total
        self.received = 0
        self._start = time.monotonic()

    def update(self, n: int) -> None:
        self.received += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= self.interval:
            self._last_draw = now
            self._draw(now)

    def _line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-6)
        rate = self.received / elapsed
        parts = [self.label]
        if self.total:
            pct = min(100, int(self.received * 100 / self.total))
            parts.append(f"{human_bytes(self.received)} / {human_bytes(self.total)}")
            parts.append(f"{pct:3d}%")
        else:
            parts.append(human_bytes(self.received))
        parts.append(f"{human_bytes(rate)}/s")
        if self.total and rate > 0 and self.received < self.total:
            parts.append(f"ETA {_clock((self.total - self.received) / rate)}")
        elif self.received:
            parts.append(f"in {_clock(elapsed)}")
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        line = self._line(now)
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def done(self) -> None:
        if not self.enabled:
            return
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def abandon(self) -> None:
        """End a partly drawn line so the next message starts on its own line."""
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
