"""A small asyncio load generator for 127.0.0.1: a fixed mix of normal and attack requests.

Each request opens its own connection (gunicorn's sync workers close after each
response), so the generator needs nothing but asyncio streams. Statuses are
counted per request kind, and transport errors separately.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

# kind -> (weight, method, path template, extra headers, body template)
MIX: dict[str, tuple[int, str, str, str, str]] = {
    "index": (8, "GET", "/", "", ""),
    "private": (3, "GET", "/private", "", ""),
    "login": (4, "POST", "/login", "Content-Type: application/x-www-form-urlencoded\r\n",
              "username=user{n}&password=guess{n}"),
    "admin": (2, "GET", "/admin", "", ""),
    "limited": (1, "GET", "/limited", "", ""),
    "scan": (2, "GET", "/wp-admin/{n}.php", "", ""),
    "tool": (1, "GET", "/", "User-Agent: sqlmap/1.8#stable\r\n", ""),
    "spoof": (1, "GET", "/", "X-Forwarded-For: 6.6.6.{n}\r\n", ""),
}  # fmt: skip
SCHEDULE = [kind for kind, spec in MIX.items() for _ in range(spec[0])]


@dataclass
class LoadResult:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    seconds: float = 0.0

    def count(self, kind: str, status: int | None = None) -> int:
        return sum(n for (k, s), n in self.statuses.items() if k == kind and status in (None, s))


def _request(kind: str, n: int, port: int) -> bytes:
    _, method, path, headers, body = MIX[kind]
    data = body.format(n=n % 500).encode()
    head = (
        f"{method} {path.format(n=n)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


async def _one(port: int, payload: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        line = await reader.readline()
        await reader.read()  # to EOF: the server closes
        return int(line.split(b" ", 2)[1])
    finally:
        writer.close()


async def _worker(port: int, deadline: float, counter: list[int], result: LoadResult) -> None:
    while time.monotonic() < deadline:
        n = counter[0]
        counter[0] += 1
        kind = SCHEDULE[n % len(SCHEDULE)]
        try:
            status = await asyncio.wait_for(_one(port, _request(kind, n, port)), 30)
            result.statuses[(kind, status)] += 1
        except Exception as exc:  # counted: the test asserts there are none
            result.errors[type(exc).__name__] += 1
        result.requests += 1


def generate(port: int, seconds: float, connections: int = 16) -> LoadResult:
    """Run the mix against 127.0.0.1:``port`` for ``seconds`` with ``connections`` in flight."""
    result = LoadResult()
    start = time.monotonic()

    async def main() -> None:
        counter = [0]
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_worker(port, deadline, counter, result) for _ in range(connections))
        )

    asyncio.run(main())
    result.seconds = time.monotonic() - start
    return result
