"""The in-memory state: sliding windows, one claim per cooldown, a hard cap on keys."""

from __future__ import annotations

import threading

from seclog_core.detect import Hit, MemoryState


def _hit(key: str = "k", member: str | None = None, **kw: float) -> Hit:
    values = {"window": 10.0, "cap": 5, "threshold": 3, "cooldown": 60.0, **kw}
    return Hit(
        "rule",
        key,
        values["window"],
        int(values["cap"]),
        int(values["threshold"]),
        values["cooldown"],
        member,
    )


def test_counts_slide_out_of_the_window():
    """Hits older than the window stop counting."""
    state = MemoryState()
    assert state.hit_many([_hit()], 0.0)[0].count == 1
    assert state.hit_many([_hit()], 5.0)[0].count == 2
    assert state.hit_many([_hit()], 10.5)[0].count == 2


def test_threshold_fires_once_per_cooldown():
    """Reaching the threshold claims the cooldown once; after it ends, it can fire again."""
    state = MemoryState()
    fired = [state.hit_many([_hit(window=1000)], t)[0].fired for t in range(6)]
    assert fired == [False, False, True, False, False, False]
    assert state.hit_many([_hit(window=1000)], 70.0)[0].fired


def test_distinct_members_count_once_each():
    """A distinct-count rule counts each member once per window."""
    state = MemoryState()
    results = [state.hit_many([_hit(member=m)], 1.0)[0].count for m in "aabbc"]
    assert results == [1, 1, 2, 2, 3]


def test_a_million_unique_keys_stay_within_the_cap():
    """Cycling through many keys never grows the state past max_keys per bucket."""
    state = MemoryState(max_keys=1000)
    for i in range(50_000):
        state.hit_many([_hit(f"user{i}"), _hit(f"ip{i}", member=f"user{i}")], float(i))
    assert state.size() <= 2000


def test_concurrent_hits_fire_exactly_once():
    """Eight threads hammering one key get exactly one alert and an exact count."""
    state = MemoryState()
    fired: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(500):
            fired.extend(
                r.fired for r in state.hit_many([_hit(cap=10_000, threshold=4000, window=1e9)], 1.0)
            )

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert fired.count(True) == 1
    assert state.take("rule", "k", 1e9, 1.0) == 4000
