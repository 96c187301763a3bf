"""Leaving on SIGHUP (the terminal went away) or SIGTERM: what this run started goes too."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any


class StopOnSignals:
    """On SIGTERM or SIGHUP run ``finish`` (plugins' exit callbacks such as tunnels, the
    sandbox etcd) in the handler itself, then leave with 128+N.

    The sandbox etcd and ssh tunnels run in their own sessions (a Ctrl-C at the prompt must
    not reach them), so the terminal's hang-up never reaches them: kshell stops them.
    ``received`` is the signal that ended the run (None while none has); ``restore()`` puts
    the previous handlers back.
    """

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))

    def __init__(self, finish: Callable[[], None]) -> None:
        self.finish = finish
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except (ValueError, OSError):  # not the main thread (kshell embedded)
                pass

    def _handler(self, signum: int, frame: Any) -> None:
        for sig in self._previous:  # a second signal must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        self.received = signum
        self.finish()
        # Raised inside a __del__ or an event-loop callback, the exit can be swallowed
        # (printed, ignored): then leave for good a moment later. A daemon timer never
        # delays a normal exit.
        timer = threading.Timer(3.0, os._exit, (128 + signum,))
        timer.daemon = True
        timer.start()
        raise SystemExit(128 + signum)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
