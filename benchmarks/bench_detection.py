"""Detection quality: a replayed day of traffic, attacks mixed into benign crowds.

Run: ``python -m benchmarks.bench_detection`` (or as the ``detection`` suite of
``python -m benchmarks``). Synthetic benign crowds (an office behind one NAT
address, a CGNAT carrier address, forgetful users, devices retrying a stale
password, a crawler on stale links, mobile clients hopping addresses) run the
whole time; scripted attacks start one after another. Every request goes
through seclog's ASGI middleware in a real Starlette app, with DEFAULT detector
settings and host-shared state, on a simulated clock. Each alert is credited to
the scenario whose request raised it. The same replay's exported events are then
run through the shipped Sigma rules (pySigma's SQLite backend) for the same table.

Target: every attack alerted exactly once (each lasts less than one cooldown
after its first alert), zero alerts on the benign crowds.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any

from ._harness import Row, Settings

__all__ = ["Outcome", "replay", "run"]

START = 1_800_000_000.0  # simulated epoch seconds
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PASSWORD = "right"
# Accounts that exist in the app; anything else fails with reason "unknown_user".
USERS = {f"user{i:04d}" for i in range(2000)} | {"alice", "carol", "dave", "mallory"}


@dataclass(order=True)
class Request:
    at: float
    seq: int
    scenario: str = field(compare=False)
    path: str = field(compare=False)
    client: str = field(compare=False)
    user_agent: str = field(compare=False, default=BROWSER)
    session_user: str | None = field(compare=False, default=None)


# One request of a scenario: at (s), path, client address, user agent, logged-in user.
Step = tuple[float, str, str, str, str | None]


@dataclass
class Scenario:
    name: str
    attack: bool
    start: float
    requests: list[Step]


@dataclass
class Outcome:
    """What one scenario got: alerts (rule names) and the time from its start to the first."""

    name: str
    attack: bool
    requests: int
    alerts: list[str] = field(default_factory=list)
    first: float | None = None
    sigma: list[str] = field(default_factory=list)
    sigma_first: float | None = None


# --- the app: a small shop behind SecurityLoggingMiddleware --------------------------


def _build_app(state_dir: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request as HttpRequest
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    import seclog_core as seclog
    from seclog_asgi import SecurityLoggingMiddleware

    async def login(request: HttpRequest) -> PlainTextResponse:
        user = request.query_params.get("user", "")
        if user in USERS and request.query_params.get("password") == PASSWORD:
            seclog.login_succeeded(username=user)
            return PlainTextResponse("welcome")
        reason = "bad_credentials" if user in USERS else "unknown_user"
        seclog.login_failed(username=user, reason=reason)
        return PlainTextResponse("no", status_code=401)

    async def page(request: HttpRequest) -> PlainTextResponse:
        return PlainTextResponse("page")

    async def order(request: HttpRequest) -> PlainTextResponse:
        owner = request.headers.get("x-user")
        if owner and request.query_params.get("mine"):
            return PlainTextResponse("your order")
        seclog.access_denied(resource="order", username=owner)
        return PlainTextResponse("forbidden", status_code=403)

    async def boom(request: HttpRequest) -> PlainTextResponse:
        return PlainTextResponse("error", status_code=500)

    routes = [
        Route("/login", login),
        Route("/", page),
        *(Route(f"/{name}", page) for name in ("shop", "about", "cart", "help")),
        Route("/products/{number:int}", page),
        Route("/orders/{number:int}", order),
        Route("/boom", boom),
    ]
    return SecurityLoggingMiddleware(
        Starlette(routes=routes), local_sink="none", state_dir=state_dir
    )


def _scope(request: Request) -> dict[str, Any]:
    path, _, query = request.path.partition("?")
    headers = [(b"host", b"shop.test"), (b"user-agent", request.user_agent.encode())]
    if request.session_user:
        headers.append((b"x-user", request.session_user.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": (request.client, 40000),
        "server": ("127.0.0.1", 8000),
    }


# --- the traffic ----------------------------------------------------------------------


def _login(user: str, ok: bool) -> str:
    return f"/login?user={user}&password={PASSWORD if ok else 'guess'}"


def _benign(rng: random.Random, hours: float) -> list[Scenario]:
    span = hours * 3600
    out: list[Scenario] = []
    # An office behind one NAT address: 300 people log in within 10 minutes, 40 mistype once.
    office: list[Step] = []
    for i in range(300):
        at = 600 + rng.uniform(0, 600)
        user = f"user{i:04d}"
        if i % 7 == 0 and i < 280:
            office.append((at, _login(user, False), "198.18.0.1", BROWSER, None))
            at += rng.uniform(5, 20)
        office.append((at, _login(user, True), "198.18.0.1", BROWSER, None))
        office += [
            (at + 5 + k * 20, f"/products/{rng.randrange(500)}", "198.18.0.1", BROWSER, None)
            for k in range(3)
        ]
    out.append(Scenario("NAT office: 300 logins, 40 typos", False, 600, office))
    # A CGNAT carrier address: 400 unrelated people over the replay, 10% mistype.
    cgnat: list[Step] = []
    for i in range(400):
        at = rng.uniform(0, span)
        user = f"user{300 + i:04d}"
        if rng.random() < 0.1:
            cgnat.append((at, _login(user, False), "100.64.12.34", BROWSER, None))
            at += rng.uniform(5, 30)
        if rng.random() < 0.02:  # a mistyped user name
            cgnat.append((at, _login(user + "x", False), "100.64.12.34", BROWSER, None))
            at += 10
        cgnat.append((at, _login(user, True), "100.64.12.34", BROWSER, None))
    out.append(Scenario("CGNAT address: 400 people", False, 0, cgnat))
    # Forgetful users: up to 8 wrong passwords, minutes apart, then success.
    forgetful: list[Step] = []
    for i in range(40):
        at = rng.uniform(0, span - 1800)
        user, client = f"user{800 + i:04d}", f"192.0.2.{i + 1}"
        for _ in range(rng.randint(2, 8)):
            forgetful.append((at, _login(user, False), client, BROWSER, None))
            at += rng.uniform(10, 120)
        forgetful.append((at, _login(user, True), client, BROWSER, None))
    out.append(Scenario("forgetful users (2-8 typos)", False, 0, forgetful))
    # Devices retrying a stale password every 5 minutes for an hour (mail clients, apps).
    stale: list[Step] = []
    for i in range(20):
        at0 = rng.uniform(0, span - 3600)
        user, client = f"user{900 + i:04d}", f"203.0.113.{100 + i}"
        stale += [(at0 + k * 300, _login(user, False), client, BROWSER, None) for k in range(12)]
        stale.append((at0 + 3600, _login(user, True), client, BROWSER, None))
    out.append(Scenario("devices retrying a stale password", False, 0, stale))
    # A crawler on stale links: a request every 2 s from 4 addresses, 20% gone (404).
    crawler: list[Step] = []
    at = 0.0
    while at < span:
        path = f"/old/{rng.randrange(10_000)}" if rng.random() < 0.2 else "/shop"
        crawler.append((at, path, f"66.249.66.{rng.randrange(1, 5)}", "Googlebot/2.1", None))
        at += 2
    out.append(Scenario("crawler on stale links", False, 0, crawler))
    # Mobile clients hopping addresses (IPv6 prefixes and carrier IPv4), 2 typos each.
    mobile: list[Step] = []
    for i in range(60):
        at = rng.uniform(0, span - 600)
        user = f"user{1000 + i:04d}"
        for k in range(3):
            client = (
                f"2001:db8:{i:x}:{k:x}::{rng.randrange(1, 65535):x}"
                if k % 2
                else f"100.{70 + k}.{i}.{rng.randrange(1, 250)}"
            )
            mobile.append((at, _login(user, k == 2), client, BROWSER, None))
            at += rng.uniform(20, 90)
    out.append(Scenario("mobile clients hopping addresses", False, 0, mobile))
    # Shoppers: pages, their own orders, the odd 403 and 500.
    shop: list[Step] = []
    for i in range(300):
        at = rng.uniform(0, span)
        client, user = f"192.0.2.{rng.randrange(100, 250)}", f"user{1100 + i:04d}"
        shop.append((at, "/shop", client, BROWSER, None))
        shop.append((at + 3, f"/orders/{rng.randrange(5000)}?mine=1", client, BROWSER, user))
        if i % 50 == 0:  # the odd stale bookmark and server error
            shop.append((at + 6, f"/orders/{rng.randrange(5000)}", client, BROWSER, user))
            shop.append((at + 9, "/boom", client, BROWSER, None))
    out.append(Scenario("shoppers (odd 403 and 500)", False, 0, shop))
    return out


def _repeat(
    t: float, count: int, every: float, make: Callable[[int], tuple[str, str]], agent: str = BROWSER
) -> list[Step]:
    """``count`` requests ``every`` seconds from ``t``; ``make(k)`` gives (path, client)."""
    return [(t + k * every, *make(k), agent, None) for k in range(count)]


def _attacks(rng: random.Random) -> list[Scenario]:
    probes = ["wp-admin", ".env", "backup", "phpmyadmin"]
    sqlmap = "sqlmap/1.8.4#stable (https://sqlmap.org)"

    def leaked(k: int) -> str:  # a leaked list: half the names exist here
        return f"leak{k:04d}" if k % 2 else f"user{1500 + k:04d}"

    def botnet(k: int) -> tuple[str, str]:
        user = f"leak{5000 + k:04d}" if k % 3 else f"user{1600 + k % 300:04d}"
        return _login(user, False), f"10.{k % 3}.{k // 3 % 250}.{k % 97 + 1}"

    attacks: list[tuple[str, Callable[[float], list[Step]]]] = [
        (
            "brute force (40 guesses, 2 min)",
            lambda t: _repeat(t, 40, 3, lambda k: (_login("alice", False), "203.0.113.10")),
        ),
        (
            "credential stuffing, one address",
            lambda t: _repeat(t, 200, 3, lambda k: (_login(leaked(k), k == 77), "203.0.113.20")),
        ),
        ("credential stuffing, botnet of 300", lambda t: _repeat(t, 400, 1.5, botnet)),
        (
            "password spraying (80 accounts)",
            lambda t: _repeat(
                t, 80, 12, lambda k: (_login(f"user{1700 + k:04d}", False), "203.0.113.30")
            ),
        ),
        (
            "distributed brute force (25 addresses)",
            lambda t: _repeat(
                t, 50, 6, lambda k: (_login("carol", False), f"198.51.100.{k % 25 + 1}")
            ),
        ),
        (
            "slow brute force (1 per 35 s)",
            lambda t: _repeat(t, 40, 35, lambda k: (_login("dave", False), "203.0.113.40")),
        ),
        (
            "scanner (300 paths, 2 min)",
            lambda t: _repeat(
                t, 300, 0.4, lambda k: (f"/{rng.choice(probes)}/{k}", "198.51.100.200")
            ),
        ),
        (
            "attack tool (sqlmap)",
            lambda t: _repeat(
                t, 50, 2, lambda k: (f"/products/{k}?id=1%27", "198.51.100.201"), sqlmap
            ),
        ),
        (
            "authorization probing (IDOR)",
            lambda t: [(t + k * 2, f"/orders/{k}", "203.0.113.60", BROWSER, "mallory")
                       for k in range(100)],
        ),
        ("5xx burst", lambda t: _repeat(t, 200, 0.3, lambda k: ("/boom", "203.0.113.70"))),
    ]  # fmt: skip
    slot = 1200.0  # a new attack every 20 minutes, while the crowds go on
    return [
        Scenario(name, True, 300 + index * slot, make(300 + index * slot))
        for index, (name, make) in enumerate(attacks)
    ]


# --- the replay -----------------------------------------------------------------------


def _timeline(scenarios: list[Scenario]) -> Iterator[Request]:
    heap: list[Request] = []
    seq = 0
    for scenario in scenarios:
        for at, path, client, agent, user in scenario.requests:
            seq += 1
            heap.append(Request(START + at, seq, scenario.name, path, client, agent, user))
    heapq.heapify(heap)
    while heap:
        yield heapq.heappop(heap)


def replay(*, hours: float = 4.0, seed: int = 7) -> list[Outcome]:
    """Replay the crowds and attacks; return each scenario's alerts, in-process and Sigma."""
    from seclog_core.detect import OUTPUT_TYPES
    from seclog_core.testing import capture_security_events

    rng = random.Random(seed)
    scenarios = _benign(rng, hours) + _attacks(rng)
    by_name = {s.name: Outcome(s.name, s.attack, len(s.requests)) for s in scenarios}
    starts = {s.name: START + s.start for s in scenarios}
    state_dir = tempfile.mkdtemp(prefix="seclog-bench-detection-")
    exported: list[tuple[float, str, dict[str, Any]]] = []
    clock = [START]
    loop = asyncio.new_event_loop()
    try:
        app = _build_app(state_dir)
        engine = app.pipeline.state["detectors"]
        engine.clock = lambda: clock[0]
        flood = app.pipeline.state.get("flood_control")
        if flood is not None:
            flood.clock = lambda: clock[0]
        alert_types = (OUTPUT_TYPES - {"security_events_summarized"}) | {"authn_login_fail_max"}
        with capture_security_events() as events:
            seen = 0
            for request in _timeline(scenarios):
                clock[0] = request.at
                loop.run_until_complete(_send(app, request))
                for event in events[seen:]:
                    exported.append((request.at, request.scenario, dict(event.attributes)))
                    if event.type.name in alert_types and event.type.name != (
                        "authn_login_successafterfail"
                    ):
                        outcome = by_name[request.scenario]
                        outcome.alerts.append(str(event.attributes.get("security.rule")))
                        if outcome.first is None:
                            outcome.first = request.at - starts[request.scenario]
                seen = len(events)
    finally:
        loop.close()
        shutil.rmtree(state_dir, ignore_errors=True)
    _sigma(exported, by_name, starts)
    return list(by_name.values())


async def _send(app: Any, request: Request) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    await app(_scope(request), receive, send)


# --- the same replay through the shipped Sigma rules ----------------------------------

# Correlation rules (and simple rules on alert events) a SIEM would alert on.
_SIGMA_ALERTS = (
    "brute_force.yml",
    "slow_brute_force.yml",
    "credential_stuffing.yml",
    "distributed_brute_force.yml",
    "authz_burst.yml",
    "error_burst.yml",
    "scanning.yml",
    "attack_tool.yml",
)


def _sigma(
    exported: list[tuple[float, str, dict[str, Any]]],
    by_name: dict[str, Outcome],
    starts: dict[str, float],
) -> None:
    from sigma.backends.sqlite import sqliteBackend  # type: ignore[attr-defined]
    from sigma.collection import SigmaCollection

    columns = sorted(
        {key for _, _, attrs in exported for key in attrs} | {"timestamp", "seclog_row"}
    )
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE logs ({', '.join(f'`{c}`' for c in columns)})")
    scenario_of: dict[int, tuple[str, float]] = {}
    for number, (at, scenario, attrs) in enumerate(exported, 1):
        stamp = datetime.fromtimestamp(at, tz=timezone.utc).isoformat()
        row = {**attrs, "timestamp": stamp, "seclog_row": number}
        values = [
            json.dumps(v) if isinstance(v, list | tuple) else v
            for v in (row.get(c) for c in columns)
        ]
        cursor = db.execute(f"INSERT INTO logs VALUES ({', '.join('?' * len(columns))})", values)
        assert cursor.lastrowid == number
        scenario_of[number] = (scenario, at)
    for name in _SIGMA_ALERTS:
        text = files("seclog_core.rules").joinpath(name).read_text()
        (query,) = sqliteBackend().convert(  # type: ignore[no-untyped-call]
            SigmaCollection.from_yaml(text)
        )
        cursor = db.execute(query)
        names = [d[0] for d in cursor.description]
        for match in cursor.fetchall():
            fields = dict(zip(names, match, strict=True))
            rowids = _evidence_rows(fields)
            if not rowids:
                continue
            # Credit the match to the scenario most of its evidence came from.
            tally: dict[str, int] = {}
            for rowid in rowids:
                tally[scenario_of[rowid][0]] = tally.get(scenario_of[rowid][0], 0) + 1
            scenario = max(tally, key=lambda s: tally[s])
            outcome = by_name[scenario]
            outcome.sigma.append(name.removesuffix(".yml"))
            # A correlation fires when its last piece of evidence arrives.
            end = max(scenario_of[r][1] for r in rowids) - starts[scenario]
            if outcome.sigma_first is None or end < outcome.sigma_first:
                outcome.sigma_first = end
    db.close()


def _evidence_rows(fields: dict[str, Any]) -> list[int]:
    """Row ids behind one Sigma match: a correlation's event ids, or the row itself."""
    ids = fields.get("event_ids")
    if isinstance(ids, str):
        rows = []
        for item in json.loads(ids):
            text = str(item).rsplit(":", 1)[-1]
            if text.isdigit():
                rows.append(int(text))
        return rows
    row = fields.get("seclog_row")
    return [int(row)] if isinstance(row, int) else []


# --- output ---------------------------------------------------------------------------


def verdict(outcome: Outcome) -> bool:
    """An attack alerted exactly once in-process; a benign crowd not at all."""
    return len(outcome.alerts) == 1 if outcome.attack else not outcome.alerts


def render(outcomes: list[Outcome]) -> str:
    head = (
        f"{'scenario':40s} {'requests':>8s}  {'seclog alerts':28s} {'first':>6s}  "
        f"{'Sigma (SIEM) matches':40s} {'first':>6s}  ok"
    )
    lines = [head, "-" * len(head)]
    for kind, attack in (("attacks", True), ("benign crowds", False)):
        lines.append(f"[{kind}]")
        for o in (o for o in outcomes if o.attack is attack):
            alerts = ", ".join(f"{r}" for r in o.alerts) or "-"
            sigma = ", ".join(f"{r} x{o.sigma.count(r)}" for r in sorted(set(o.sigma))) or "-"
            lines.append(
                f"{o.name:40s} {o.requests:8d}  {len(o.alerts)} {alerts[:26]:26s} "
                f"{_secs(o.first):>6s}  {sigma[:40]:40s} {_secs(o.sigma_first):>6s}  "
                f"{'yes' if verdict(o) else 'NO'}"
            )
    return "\n".join(lines)


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def run(settings: Settings) -> list[Row]:
    """The suite entry for ``python -m benchmarks``: one row per scenario."""
    outcomes = replay(hours=2.0 if settings.quick else 4.0)
    print(render(outcomes))
    rows = []
    for o in outcomes:
        rows.append(
            Row(
                "detection",
                o.name,
                "attack" if o.attack else "benign",
                float(len(o.alerts)),
                "alerts",
                target="1" if o.attack else "0",
                verdict="ok" if verdict(o) else "MISS",
                note=f"first after {_secs(o.first)}; Sigma: {len(o.sigma)}",
            )
        )
    return rows


def main() -> None:
    print(__doc__.split("\n\n")[0])
    print(render(replay()))


if __name__ == "__main__":
    main()
