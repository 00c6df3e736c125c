"""Detector state in Redis, shared by every worker and host that points at it.

One Lua script per event records all its hits and claims cooldowns atomically;
windows are sorted sets and cooldowns plain keys, each with a TTL so Redis
cleans up by itself. Every call is bounded by ``redis_timeout``; when Redis is
unreachable the detectors fall back to per-process state, say so once, and try
Redis again after a backoff. ``redis`` is imported only when this is used.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._internal import logger, report_failure
from .state import Hit, HitResult, MemoryState

__all__ = ["DEFAULT_RETRY_AFTER", "RedisState"]

DEFAULT_RETRY_AFTER = 5.0

# KEYS: per hit a window key and a cooldown key. ARGV: now, then per hit
# member, window, cap, threshold, cooldown (seconds). Returns count, fired per hit.
_HIT = """
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local zkey, ckey = KEYS[2 * i - 1], KEYS[2 * i]
  local base = 1 + (i - 1) * 5
  local member = ARGV[base + 1]
  local window = tonumber(ARGV[base + 2])
  local cap = tonumber(ARGV[base + 3])
  local threshold = tonumber(ARGV[base + 4])
  local cooldown = tonumber(ARGV[base + 5])
  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now - window)
  redis.call('ZADD', zkey, now, member)
  local count = redis.call('ZCARD', zkey)
  if count > cap then
    redis.call('ZREMRANGEBYRANK', zkey, 0, count - cap - 1)
    count = cap
  end
  redis.call('PEXPIRE', zkey, math.ceil(window * 1000))
  local fired = 0
  if threshold > 0 and count >= threshold then
    if redis.call('SET', ckey, '1', 'PX', math.max(1, math.ceil(cooldown * 1000)), 'NX') then
      fired = 1
    end
  end
  out[2 * i - 1] = count
  out[2 * i] = fired
end
return out
"""

# KEYS[1]: a window key. ARGV: now, window. Returns the count inside the window, then deletes.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1])
return count
"""


# KEYS[1]: a window key. ARGV: now, window. Returns the count inside the window.
_COUNT = """
return redis.call('ZCOUNT', KEYS[1], '(' .. (tonumber(ARGV[1]) - tonumber(ARGV[2])), '+inf')
"""


def _cluster_url(url: str) -> tuple[bool, str]:
    """``?cluster=true`` asks for the Redis Cluster client; the flag is not passed on."""
    parts = urlsplit(url)
    pairs = [p for p in parts.query.split("&") if p]
    flags = [p for p in pairs if p.split("=", 1)[0].lower() == "cluster"]
    if not flags:
        return False, url
    value = flags[-1].partition("=")[2].lower()
    rest = "&".join(p for p in pairs if p not in flags)
    return value in ("1", "true", "yes", "on"), urlunsplit(parts._replace(query=rest))


def _where(url: str) -> str:
    """The host and port of a Redis URL, never its password."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    except ValueError:
        return "the configured Redis"


class RedisState:
    """Detector state in Redis with a per-process fallback."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.05,
        prefix: str = "seclog:",
        fallback: MemoryState | None = None,
        retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        import redis  # lazy: the redis extra is optional

        self.url = url
        self.prefix = prefix
        # "{seclog}:" puts all of seclog's keys in one cluster slot: a script's keys must
        # share a slot, and one event touches several rules' keys.
        self.tag = "{" + prefix.rstrip(":") + "}:"
        self.fallback = fallback if fallback is not None else MemoryState()
        self.retry_after = retry_after
        self.cluster, self._url = _cluster_url(url)
        self._timeout = timeout
        self.client: Any = None
        if not self.cluster:
            self.client = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry_on_timeout=False,
                retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
                health_check_interval=0,
            )
            self._scripts()
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._warned = False
        self.available = True

    def hit_many(self, hits: Sequence[Hit], now: float) -> list[HitResult]:
        if not self._usable():
            return self.fallback.hit_many(hits, now)
        keys: list[str] = []
        args: list[Any] = [now]
        for hit in hits:
            window_key, cooldown_key = self._keys(hit.bucket, hit.key)
            keys += (window_key, cooldown_key)
            member = hit.member if hit.member is not None else f"{now}:{os.urandom(6).hex()}"
            args += (member, hit.window, hit.cap, hit.threshold, hit.cooldown)
        try:
            self._ensure()
            reply = self._hit(keys=keys, args=args)
        except Exception as exc:
            self._down(exc)
            return self.fallback.hit_many(hits, now)
        self._up()
        return [HitResult(int(reply[2 * i]), bool(int(reply[2 * i + 1]))) for i in range(len(hits))]

    def take(self, bucket: str, key: str, window: float, now: float) -> int:
        if not self._usable():
            return self.fallback.take(bucket, key, window, now)
        try:
            self._ensure()
            count = int(self._take(keys=[self._keys(bucket, key)[0]], args=[now, window]))
        except Exception as exc:
            self._down(exc)
            return self.fallback.take(bucket, key, window, now)
        self._up()
        return count

    def count(self, bucket: str, key: str, window: float, now: float) -> int:
        if not self._usable():
            return self.fallback.count(bucket, key, window, now)
        try:
            self._ensure()
            count = int(self._count(keys=[self._keys(bucket, key)[0]], args=[now, window]))
        except Exception as exc:
            self._down(exc)
            return self.fallback.count(bucket, key, window, now)
        self._up()
        return count

    def claim(self, bucket: str, key: str, cooldown: float, now: float) -> bool:
        if not self._usable():
            return self.fallback.claim(bucket, key, cooldown, now)
        try:
            self._ensure()
            ms = max(1, math.ceil(cooldown * 1000))
            claimed = self.client.set(self._keys(bucket, key)[1], "1", px=ms, nx=True)
        except Exception as exc:
            self._down(exc)
            return self.fallback.claim(bucket, key, cooldown, now)
        self._up()
        return bool(claimed)

    def _scripts(self) -> None:
        self._hit = self.client.register_script(_HIT)
        self._take = self.client.register_script(_TAKE)
        self._count = self.client.register_script(_COUNT)

    def _ensure(self) -> None:
        """Connect to a cluster on first use: its client asks a node for the slot map."""
        if self.client is None:
            from redis.cluster import RedisCluster

            self.client = RedisCluster.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
            self._scripts()

    def _keys(self, bucket: str, key: str) -> tuple[str, str]:
        # Hashed: user names and addresses never appear in Redis key names. One hash tag
        # for every key of one script call, so Redis Cluster and Valkey run it on one slot.
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self.tag}w:{bucket}:{digest}", f"{self.tag}c:{bucket}:{digest}"

    def _usable(self) -> bool:
        return self.available or time.monotonic() >= self._down_until

    def _down(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.retry_after
            self.available = False
            warn = not self._warned
            self._warned = True
        report_failure("detect.redis", exc)
        if warn:
            logger.warning(
                "seclog: Redis at %s is unreachable (%s); detectors use per-process state "
                "and retry Redis every %g s",
                _where(self.url),
                type(exc).__name__,
                self.retry_after,
            )

    def _up(self) -> None:
        if not self.available:
            with self._lock:
                recovered = not self.available
                self.available = True
            if recovered:
                logger.info("seclog: Redis at %s is reachable again", _where(self.url))
