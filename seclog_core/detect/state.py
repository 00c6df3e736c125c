"""Detector state: sliding-window counters behind a small protocol, kept in memory by default.

A backend records hits (a plain count, or distinct values) per bucket and key
and atomically claims the per-key cooldown, so one alert goes out per key per
cooldown. :class:`MemoryState` is thread-safe and bounded: at most
``max_keys`` keys per bucket (least recently used go first) and at most
``cap`` timestamps per key, whatever an attacker cycles through.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

__all__ = ["DEFAULT_MAX_KEYS", "Hit", "HitResult", "MemoryState", "StateBackend"]

DEFAULT_MAX_KEYS = 10_000


# Named tuples, not frozen dataclasses: a failed login builds three of each on the
# request thread, and a frozen dataclass pays an object.__setattr__ per field.
class Hit(NamedTuple):
    """One observation for one rule: count it (``member`` None) or add ``member`` to a set."""

    bucket: str
    key: str
    window: float
    cap: int
    threshold: int  # 0: record only, never claim the cooldown
    cooldown: float
    member: str | None = None


@dataclass(slots=True)  # not frozen, for the same reason; nothing mutates it
class HitResult:
    count: int  # hits (or distinct members) inside the window, at most ``cap``
    fired: bool  # threshold reached and the cooldown was free: alert now


class StateBackend(Protocol):
    """Where detectors keep their windows; every method is atomic and never raises."""

    def hit_many(self, hits: Sequence[Hit], now: float) -> list[HitResult]: ...

    def take(self, bucket: str, key: str, window: float, now: float) -> int:
        """Count inside the window for ``bucket``/``key``, then forget it."""
        ...

    def count(self, bucket: str, key: str, window: float, now: float) -> int:
        """Hits (or distinct members) inside the window for ``bucket``/``key``."""
        ...

    def claim(self, bucket: str, key: str, cooldown: float, now: float) -> bool:
        """Take the cooldown of ``bucket``/``key`` if it is free (one alert per cooldown)."""
        ...


class MemoryState:
    """Per-process state: an LRU of windows per bucket plus an LRU of cooldowns."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.max_keys = max(1, max_keys)
        self._lock = threading.Lock()
        self._counts: dict[str, OrderedDict[str, list[float]]] = {}
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

    def count(self, bucket: str, key: str, window: float, now: float) -> int:
        with self._lock:
            table = self._counts.get(bucket)
            times = table.get(key) if table is not None else None
            if times is not None:
                return sum(1 for t in times if t > now - window)
            sets = self._sets.get(bucket)
            members = sets.get(key) if sets is not None else None
            return sum(1 for t in (members or {}).values() if t > now - window)

    def claim(self, bucket: str, key: str, cooldown: float, now: float) -> bool:
        with self._lock:
            return self._claim(Hit(bucket, key, 0.0, 1, 1, cooldown), now, 1)

    def size(self) -> int:
        """Keys held across all buckets (for tests and the benchmark)."""
        with self._lock:
            return (
                sum(len(t) for t in self._counts.values())
                + sum(len(t) for t in self._sets.values())
                + len(self._cooldowns)
            )

    def _hit(self, hit: Hit, now: float) -> HitResult:
        # Inlined LRU lookups: this runs up to three times per failed login.
        bucket, key = hit.bucket, hit.key
        horizon = now - hit.window
        if hit.member is None:
            table = self._counts.get(bucket)
            if table is None:
                table = self._counts[bucket] = OrderedDict()
            times = table.get(key)
            if times is None:
                # A one-item list, not a deque: most keys (one user, one client) are hit
                # once or twice, and a deque allocates a 64-slot block per key.
                times = table[key] = [now]
                if len(table) > self.max_keys:
                    table.popitem(last=False)
            else:
                table.move_to_end(key)
                times.append(now)
                cap = hit.cap
                if times[0] <= horizon or len(times) > cap:
                    start = max(0, len(times) - cap)
                    while start < len(times) and times[start] <= horizon:
                        start += 1
                    del times[:start]
            count = len(times)
        else:
            sets = self._sets.get(bucket)
            if sets is None:
                sets = self._sets[bucket] = OrderedDict()
            members = sets.get(key)
            if members is None:
                members = sets[key] = {}
                if len(sets) > self.max_keys:
                    sets.popitem(last=False)
            else:
                sets.move_to_end(key)
            member = hit.member
            members.pop(member, None)
            members[member] = now  # re-insert: dict order is oldest-seen first
            cap = hit.cap
            while members:
                oldest = next(iter(members))
                if members[oldest] > horizon and len(members) <= cap:
                    break
                del members[oldest]
            count = len(members)
        if hit.threshold <= 0 or count < hit.threshold:
            return HitResult(count, False)
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
