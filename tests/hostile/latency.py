"""Request mixes and latency percentiles, for comparing a faulted run with a healthy one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .servers import Server


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    security_requests: int = 0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    def add(self, other: Run) -> None:
        self.latencies += other.latencies
        self.security_requests += other.security_requests
        for key, values in other.statuses.items():
            self.statuses.setdefault(key, set()).update(values)


def request_mix(server: Server, rounds: int) -> Run:
    """``rounds`` x (failed login, 401 page, plain page); each timed on its own."""
    run = Run()
    with server.client() as client:
        for i in range(rounds):
            login = {"username": f"u{i % 7}", "password": "x"}
            for name, method, path, data in (
                ("login", "POST", "/login", login),
                ("private", "GET", "/private", None),
                ("index", "GET", "/", None),
            ):
                start = time.perf_counter()
                status = client.request(method, path, data=data).status_code
                run.latencies.append(time.perf_counter() - start)
                run.statuses.setdefault(name, set()).add(status)
            run.security_requests += 2
    return run


def within_noise(faulted: Run, healthy: Run) -> str | None:
    """None when the faulted run is as fast as the healthy one within generous noise bounds."""
    if faulted.p50 > 2 * healthy.p50 + 0.005:
        return f"p50 {faulted.p50 * 1000:.1f} ms vs healthy {healthy.p50 * 1000:.1f} ms"
    if faulted.p99 > 3 * healthy.p99 + 0.100:
        return f"p99 {faulted.p99 * 1000:.1f} ms vs healthy {healthy.p99 * 1000:.1f} ms"
    return None
