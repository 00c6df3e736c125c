"""Injection and malformed input: hostile bytes yield well-formed events and normal answers.

CR/LF, NUL, ANSI escapes, bidi overrides, 1 MB headers and user names, invalid
UTF-8 and percent-encoding, thousands of headers or query parameters, hostile
Forwarded / X-Forwarded-For / Host values, sent over raw sockets where an HTTP
client would refuse them. Every response is the app's own or a documented
refusal by the server or framework (``REFUSALS``); every event that reaches the
collector is well-formed and safe; the JSON-lines sink has exactly one line per
event, so no input forged a second record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.otlp import Receiver

from .fuzz.checks import check_attributes, check_text
from .servers import KINDS, Server, raw_request, running, status_of

# Documented refusals, by who refuses and why (none of them is seclog's).
REFUSALS = {
    400: "gunicorn/h11/Django reject the request line or headers (bad bytes, too many or too "
    "large fields, a Host Django does not allow)",
    413: "Werkzeug refuses a form over MAX_FORM_MEMORY_SIZE (500 kB)",
    414: "gunicorn refuses a request line over 4094 bytes",
    431: "h11 (uvicorn) refuses headers over its size limit",
}
ANSI = "\x1b[2J\x1b]0;pwned\x07\x1b[31m"
BIDI = "\u202egnp.exe\u2066"
INJECTED = (
    f"mallory\r\n2026-01-01T00:00:00Z INFO security.authn_login_success user=root{ANSI}{BIDI}\x00"
)
# Looks like "admin" on screen: zero-width space, word joiner, BOM, soft hyphen, tag characters.
INVISIBLE_NAME = "ad\u200bm\u2060i\ufeffn\u00ad\U000e0041\U000e007f"
INVISIBLE_CHARS = re.compile("[\u00ad\u200b-\u200f\u2060-\u206f\ufeff\U000e0000-\U000e007f]")


def http(
    method: str, target: str, headers: Sequence[tuple[str, bytes]] = (), body: bytes = b""
) -> Callable[[int], bytes]:
    def build(port: int) -> bytes:
        lines = [f"{method} {target} HTTP/1.1".encode("utf-8", "surrogateescape")]
        lines.append(f"Host: 127.0.0.1:{port}".encode())
        has_host = any(name.lower() == "host" for name, _ in headers)
        if has_host:
            lines.pop()
        lines += [name.encode() + b": " + value for name, value in headers]
        lines.append(b"Connection: close")
        if body or method == "POST":
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    return build


def form(**fields: str) -> tuple[list[tuple[str, bytes]], bytes]:
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).encode()
    return [("Content-Type", b"application/x-www-form-urlencoded")], body


@dataclass(frozen=True)
class Case:
    name: str
    request: Callable[[int], bytes]
    statuses: frozenset[int]  # the app's answer, plus any documented refusal
    login: bool = False


def _login(name: str, username: str, *refusals: int) -> Case:
    headers, body = form(username=username, password="x")
    return Case(name, http("POST", "/login", headers, body), frozenset({401, *refusals}), True)


def _private(name: str, target: str, headers: list[tuple[str, bytes]], *refusals: int) -> Case:
    return Case(name, http("GET", target, headers), frozenset({401, *refusals}))


MANY_PARAMS = "/private?" + "&".join(f"p{i}={i}" for i in range(10_000))
LONG_XFF = ", ".join(f"10.{i // 250}.{i % 250}.1" for i in range(1_000)).encode()
HOSTILE_FORWARDED = b'for="[::1]:80";proto=https, for=unknown, for="_x\\"y", for=999.1.1.1, ;;'
ODD_XFF = ("1.2.3.4, " + BIDI + ", [::1]:99999, ::ffff:10.0.0.1").encode()
CASES = [
    _login("username with CR/LF, NUL, ANSI and bidi", INJECTED),
    _login("username with invisible format characters", INVISIBLE_NAME),
    _login("1 MB username", "u" * 1_000_000, 413),
    _login("username of invalid UTF-8 percent-escapes", "%ff%fe%c0%af%ed%a0%80"),
    # gunicorn refuses control bytes in header values (400); uvicorn passes them on.
    _private("ANSI and bidi in User-Agent", "/private",
             [("User-Agent", (ANSI + BIDI).encode())], 400),
    _private("bidi and separators in User-Agent", "/private", [("User-Agent", ODD_XFF)]),
    _private("NUL and lone CR in a header", "/private", [("User-Agent", b"a\x00b\rc")], 400),
    _private("1 MB header", "/private", [("X-Big", b"a" * 1_000_000)], 400, 431),
    _private("1 MB User-Agent", "/private", [("User-Agent", b"b" * 1_000_000)], 400, 431),
    _private("2 000 headers", "/private", [(f"X-H{i}", b"v") for i in range(2_000)], 400, 431),
    _private("10 000 query parameters", MANY_PARAMS, [], 414),
    _private("invalid UTF-8 bytes in the query", "/private?x=\udcff\udcfe", [], 400),
    _private("invalid percent-encoding", "/private?%zz=%&a=%e2%82&%", []),
    Case("invalid UTF-8 in the path", http("GET", "/private%ff%fe%c0"), frozenset({404, 400})),
    Case("malformed Forwarded", http("GET", "/", [("Forwarded", HOSTILE_FORWARDED),
                                                 ("X-Forwarded-For", ODD_XFF)]), frozenset({200})),
    Case("ANSI in X-Forwarded-For", http("GET", "/", [("X-Forwarded-For", ANSI.encode())]),
         frozenset({200, 400})),
    Case("1 000-hop X-Forwarded-For", http("GET", "/", [("X-Forwarded-For", LONG_XFF)]),
         frozenset({200, 400, 431})),
    Case("Host with ANSI and bidi", http("GET", "/private", [("Host", (ANSI + BIDI).encode())]),
         frozenset({401, 400})),
    Case("5 000-char Host", http("GET", "/private", [("Host", b"h" * 5_000)]),
         frozenset({401, 400})),
]  # fmt: skip


def attack(server: Server) -> dict[str, int]:
    return {
        case.name: status_of(raw_request(server.port, case.request(server.port))) for case in CASES
    }


@pytest.fixture(scope="module")
def attacked(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("injection")
    env = {**receiver.env("grpc"), "SECLOG_LOCAL_SINK": "stderr"}

    def one(kind: str) -> dict[str, Any]:
        with running(kind, workdir / kind, env) as server:
            statuses = attack(server)
            alive = httpx.get(server.url + "/", timeout=10).status_code
            logins = sum(1 for case in CASES if case.login and statuses[case.name] == 401)
            service = f"hostile-{kind}"
            receiver.collected.wait_for(
                lambda c: (
                    sum(
                        1
                        for log in c.security_logs()
                        if log.resource["service.name"] == service
                        and log.event_name == "security.authn_login_fail"
                    )
                    >= logins
                ),
                timeout=20,
            )
            receiver.collected.wait_for(lambda c: False, timeout=1.0)  # stragglers
        return {"statuses": statuses, "alive": alive, "logins": logins, "output": server.output()}

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(KINDS, pool.map(one, KINDS), strict=True))


def _logs(receiver: Receiver, kind: str) -> list[Any]:
    return [
        log
        for log in receiver.collected.security_logs()
        if log.resource["service.name"] == f"hostile-{kind}"
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_request_gets_the_apps_normal_answer(
    attacked: dict[str, Any], kind: str, case: Case
) -> None:
    """Each hostile request gets the app's own answer or a documented server refusal."""
    status = attacked[kind]["statuses"][case.name]
    assert status in case.statuses, (status, REFUSALS.get(status, "undocumented"))


@pytest.mark.parametrize("kind", KINDS)
def test_the_app_survives_every_hostile_request(attacked: dict[str, Any], kind: str) -> None:
    """After all of it the app still answers, and seclog reported no internal failure."""
    assert attacked[kind]["alive"] == 200
    assert "seclog: internal failure" not in attacked[kind]["output"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_is_well_formed_and_safe(
    attacked: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """Every event that reached the collector has safe text and valid values, nothing else."""
    logs = _logs(receiver, kind)
    assert logs
    for log in logs:
        check_text(log.body, f"{log.event_name} body")
        check_attributes(log.attributes, log.event_name)
        for key, value in log.attributes.items():
            if isinstance(value, str):
                assert len(value) <= 4096, (key, len(value))


@pytest.mark.parametrize("kind", KINDS)
def test_no_input_forges_or_multiplies_a_record(
    attacked: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """One failed login is one event; the injected "login success" line never becomes a record."""
    logs = _logs(receiver, kind)
    names = [log.event_name for log in logs]
    assert names.count("security.authn_login_fail") == attacked[kind]["logins"]
    assert "security.authn_login_success" not in names
    injected = next(log for log in logs if "mallory" in str(log.attributes.get("user.name", "")))
    assert "INFO security.authn_login_success" in injected.attributes["user.name"]  # kept, inert


@pytest.mark.parametrize("kind", KINDS)
def test_json_sink_has_one_parseable_line_per_event(
    attacked: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """The local JSON-lines sink writes each event as exactly one parseable line."""
    lines = [
        line for line in attacked[kind]["output"].splitlines() if line.startswith('{"timestamp"')
    ]
    records = [json.loads(line) for line in lines]
    assert all(r["event_name"].startswith("security.") for r in records)
    sink = sorted(r["attributes"]["seclog.sequence"] for r in records)
    otlp = sorted(log.attributes["seclog.sequence"] for log in _logs(receiver, kind))
    assert sink == otlp


@pytest.mark.parametrize("kind", KINDS)
def test_invisible_characters_arrive_escaped(
    attacked: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """A user name that displays as "admin" thanks to invisible characters arrives escaped."""
    names = [str(log.attributes.get("user.name", "")) for log in _logs(receiver, kind)]
    escaped = [name for name in names if name.startswith("ad\\u200bm")]
    assert escaped, names
    assert escaped[0] == "ad\\u200bm\\u2060i\\ufeffn\\xad\\U000e0041\\U000e007f"
    assert not any(INVISIBLE_CHARS.search(name) for name in names)
