"""Stale-while-revalidate cache for completions that need the cluster.

A lookup answers at once from what is cached and, when the entry is older than its
TTL, starts one background refresh. With nothing cached yet it waits a short
moment for the first fill, so a fast source completes on the first Tab.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

FAILURE_REST = 1.0  # seconds before a source that failed is asked again


class SWRCache:
    def __init__(self, first_wait: float = 0.15) -> None:
        self.first_wait = first_wait
        self._values: dict[str, tuple[float, Any]] = {}
        self._inflight: dict[str, threading.Event] = {}
        self._failed: dict[str, float] = {}  # a dead source is asked again after a pause
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any], ttl: float = 10.0) -> Any | None:
        now = time.monotonic()
        with self._lock:
            entry = self._values.get(key)
            done = self._inflight.get(key)
            stale = entry is None or now - entry[0] > ttl
            resting = now - self._failed.get(key, float("-inf")) < FAILURE_REST
            if stale and done is None and not resting:
                done = threading.Event()
                self._inflight[key] = done
                threading.Thread(
                    target=self._fill, args=(key, load, done), daemon=True, name=f"swr:{key}"
                ).start()
        if entry is not None:
            return entry[1]
        if done is not None and done.wait(self.first_wait):
            with self._lock:
                entry = self._values.get(key)
            return entry[1] if entry else None
        return None

    def _fill(self, key: str, load: Callable[[], Any], done: threading.Event) -> None:
        try:
            value = load()
        except Exception:
            value = None
            failed = True
        else:
            failed = False
        with self._lock:
            if failed:
                self._failed[key] = time.monotonic()
            else:
                self._values[key] = (time.monotonic(), value)
                self._failed.pop(key, None)
            self._inflight.pop(key, None)
        done.set()

    def invalidate(self, prefix: str = "") -> None:
        """Mark matching entries stale: they are still served, and refreshed on next use."""
        with self._lock:
            for key, (_, value) in list(self._values.items()):
                if key.startswith(prefix):
                    self._values[key] = (float("-inf"), value)
