"""marketplace.cache.LRU: bounded, least recently used out first, safe between threads."""

from __future__ import annotations

import threading

import pytest

from marketplace.cache import LRU


def test_bounded_and_least_recently_used_out_first():
    c = LRU(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3 and len(c) == 2


def test_get_or_compute_computes_once_per_key_and_keeps_falsy_values():
    c, calls = LRU(8), []

    def compute(v):
        calls.append(v)
        return v

    assert c.get_or_compute("k", lambda: compute(0)) == 0
    assert c.get_or_compute("k", lambda: compute(1)) == 0
    assert c.get_or_compute("n", lambda: compute(None)) is None
    assert c.get_or_compute("n", lambda: compute(2)) is None
    assert calls == [0, None]
    assert c.get("missing", "default") == "default"


def test_clear_and_counters():
    c = LRU(4)
    c.put(1, 1)
    c.get(1)
    c.get(2)
    assert (c.hits, c.misses) == (1, 1)
    c.clear()
    assert len(c) == 0 and (c.hits, c.misses) == (0, 0)


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        LRU(0)


def test_threads_share_it_without_losing_the_bound():
    c = LRU(64)

    def work(n):
        for i in range(2000):
            c.put((n, i % 100), i)
            c.get((n, (i * 7) % 100))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(c) == 64
