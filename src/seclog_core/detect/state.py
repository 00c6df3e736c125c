"""Detector state: sliding-window counters behind a small protocol, kept in memory by default.

A backend records hits (a plain count, or distinct values) per bucket and key
and atomically claims the per-key cooldown, so one alert goes out per key per
cooldown. :class:`MemoryState` is thread-safe and bounded: at most
``max_keys`` keys per bucket (least recently used go first) and at most
``cap`` timestamps per key, whatever an attacker cycles through.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = ["DEFAULT_MAX_KEYS", "Hit", "HitResult", "MemoryState", "StateBackend"]

DEFAULT_MAX_KEYS = 10_000
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Hit:
    """One observation for one rule: count it (``member`` None) or add ``member`` to a set."""

    bucket: str
    key: str
    window: float
    cap: int
    threshold: int  # 0: record only, never claim the cooldown
    cooldown: float
    member: str | None = None


@dataclass(frozen=True, slots=True)
class HitResult:
    count: int  # hits (or distinct members) inside the window, at most ``cap``
    fired: bool  # threshold reached and the cooldown was free: alert now


class StateBackend(Protocol):
    """Where detectors keep their windows; every method is atomic and never raises."""

    def hit_many(self, hits: Sequence[Hit], now: float) -> list[HitResult]: ...

    def take(self, bucket: str, key: str, window: float, now: float) -> int:
        """Count inside the window for ``bucket``/``key``, then forget it."""
        ...


class MemoryState:
    """Per-process state: an LRU of windows per bucket plus an LRU of cooldowns."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.max_keys = max(1, max_keys)
        self._lock = threading.Lock()
        self._counts: dict[str, OrderedDict[str, deque[float]]] = {}
        self._sets: dict[str, OrderedDict[str, dict[str, float]]] = {}
        self._cooldowns: OrderedDict[tuple[str, str], float] = OrderedDict()

    def hit_many(self, hits: Sequence[Hit], now: float) -> list[HitResult]:
        with self._lock:
            return [self._hit(hit, now) for hit in hits]

    def take(self, bucket: str, key: str, window: float, now: float) -> int:
        with self._lock:
            table = self._counts.get(bucket)
            times = table.pop(key, None) if table is not None else None
            if not times:
                return 0
            return sum(1 for t in times if t > now - window)

    def size(self) -> int:
        """Keys held across all buckets (for tests and the benchmark)."""
        with self._lock:
            return (
                sum(len(t) for t in self._counts.values())
                + sum(len(t) for t in self._sets.values())
                + len(self._cooldowns)
            )

    def _lru(
        self, tables: dict[str, OrderedDict[str, _V]], hit: Hit, empty: Callable[[], _V]
    ) -> _V:
        table = tables.get(hit.bucket)
        if table is None:
            table = tables[hit.bucket] = OrderedDict()
        entry = table.get(hit.key)
        if entry is None:
            entry = table[hit.key] = empty()
            if len(table) > self.max_keys:
                table.popitem(last=False)
        else:
            table.move_to_end(hit.key)
        return entry

    def _hit(self, hit: Hit, now: float) -> HitResult:
        horizon = now - hit.window
        if hit.member is None:
            times: deque[float] = self._lru(self._counts, hit, deque)
            times.append(now)
            while times and (times[0] <= horizon or len(times) > hit.cap):
                times.popleft()
            count = len(times)
        else:
            members: dict[str, float] = self._lru(self._sets, hit, dict)
            members.pop(hit.member, None)
            members[hit.member] = now  # re-insert: dict order is oldest-seen first
            for member, seen in list(members.items()):
                if seen > horizon and len(members) <= hit.cap:
                    break
                del members[member]
            count = len(members)
        return HitResult(count, self._claim(hit, now, count))

    def _claim(self, hit: Hit, now: float, count: int) -> bool:
        if hit.threshold <= 0 or count < hit.threshold:
            return False
        slot = (hit.bucket, hit.key)
        until = self._cooldowns.get(slot)
        if until is not None and until > now:
            return False
        self._cooldowns[slot] = now + hit.cooldown
        self._cooldowns.move_to_end(slot)
        if len(self._cooldowns) > self.max_keys:
            self._cooldowns.popitem(last=False)
        return True
