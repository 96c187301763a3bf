"""The stale-while-revalidate cache behind live completions."""

from __future__ import annotations

import threading
import time

from kshell.cache import SWRCache


def test_first_fill_waits_briefly_then_serves_from_cache():
    cache = SWRCache(first_wait=1.0)
    calls = []
    assert cache.get("k", lambda: calls.append(1) or ["a"], ttl=60) == ["a"]
    assert cache.get("k", lambda: calls.append(1) or ["b"], ttl=60) == ["a"]
    assert len(calls) == 1


def test_slow_source_never_blocks_past_first_wait():
    cache = SWRCache(first_wait=0.05)
    release = threading.Event()
    t = time.perf_counter()
    assert cache.get("k", lambda: release.wait(5) and ["late"], ttl=60) is None
    assert time.perf_counter() - t < 0.5
    release.set()
    for _ in range(100):
        if cache.get("k", lambda: ["never"], ttl=60) == ["late"]:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the background fill never landed")


def test_stale_value_served_while_refreshing():
    cache = SWRCache(first_wait=1.0)
    assert cache.get("k", lambda: 1, ttl=0) == 1
    gate = threading.Event()
    assert cache.get("k", lambda: gate.wait(5) and 2, ttl=0) == 1  # stale, refresh started
    gate.set()
    for _ in range(100):
        if cache.get("k", lambda: 2, ttl=60) == 2:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the refresh never landed")


def test_failing_source_keeps_old_value_and_rests():
    cache = SWRCache(first_wait=1.0)
    assert cache.get("k", lambda: "old", ttl=0) == "old"
    calls = []

    def boom():
        calls.append(1)
        raise OSError("down")

    for _ in range(20):
        assert cache.get("k", boom, ttl=0) == "old"
        time.sleep(0.005)
    assert 1 <= len(calls) <= 2  # not one thread per keystroke against a dead endpoint


def test_invalidate_marks_stale_but_keeps_serving():
    cache = SWRCache(first_wait=1.0)
    cache.get("ctx:a", lambda: "x", ttl=60)
    cache.invalidate("ctx:")
    gate = threading.Event()
    assert cache.get("ctx:a", lambda: gate.wait(5) and "y", ttl=60) == "x"
    gate.set()
