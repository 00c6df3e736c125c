"""Leak classes through every adapter: the catalogues reach real servers, nothing reaches out.

Each catalogued secret travels the way a client would send it (a request body that
ends up in an exception message, a form or query field, a user name, a secret in
the URL path under a route that names it) to Django and Flask under gunicorn and
FastAPI under uvicorn. The test then greps every byte the real OTLP receiver got,
and the server's own stderr (where the frameworks print a crash's traceback), for
every needle.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.otlp import Receiver

from . import secrets_catalogue as cat
from .apps import BOOM_SECRET
from .servers import KINDS, Server, running

RESET_TOKEN = "RouteTok-hostile-4477"
# Headers the app hands to seclog as its framework's header object (/report).
HEADER_SECRETS = {
    "Authorization": ("Token HdrAuth-hostile-61a9c2", "HdrAuth-hostile-61a9c2"),
    "Proxy-Authorization": ("Basic UHJveHk6SGRyUHJveHktNjI=", "UHJveHk6SGRyUHJveHktNjI="),
    "X-Api-Key": ("HdrApiKey-hostile-63", "HdrApiKey-hostile-63"),
    "X-Custom-Auth": ("ghp_" + "H" * 30 + "dr64ab", "ghp_" + "H" * 30 + "dr64ab"),
    "Cookie": ("theme=dark; sessionid=HdrSess-65; remember=HdrRem-66", "HdrRem-66"),
}
AS_USERNAME = (*cat.FORMATS, *cat.FINANCIAL, *cat.URLS)
# seclog's own settings for these servers: no flood control hiding the planted events.
SETTINGS = {"SECLOG_FLOOD_LIMIT": "100000"}


def _all_needles() -> list[tuple[str, str]]:
    needles = [(case.name, n) for case in cat.ALL_TEXT_CASES for n in case.needles]
    needles += [(name, cat.key_value_for(name)) for name in cat.KEY_NAMES]
    needles.append(("the app's own database password", BOOM_SECRET.partition("=")[2]))
    needles += [(f"{name} header", needle) for name, (_, needle) in HEADER_SECRETS.items()]
    needles.append(("session cookie in the Cookie header", "HdrSess-65"))
    return [*needles, ("reset token in the path", RESET_TOKEN)]


NEEDLES = _all_needles()


def plant(server: Server) -> dict[str, int]:
    """Send every catalogued secret; returns how many events of each kind should arrive."""
    expected = {
        "security.sys_error": 0,
        "security.authn_login_fail": 0,
        "security.authn_fail": 0,
        "security.input_validation_fail": 0,
    }
    # A crash may close the connection (uvicorn does): each /boom asks for its own.
    with server.client(headers={"Connection": "close"}) as client:
        for case in cat.ALL_TEXT_CASES:
            r = client.post("/boom", content=case.text, headers={"Content-Type": "text/plain"})
            assert r.status_code == 500
            expected["security.sys_error"] += 1
        for name in cat.KEY_NAMES:
            value = cat.key_value_for(name)
            r = client.post(
                "/boom",
                params={name: value},
                content=json.dumps({name: value, "note": "x"}),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 500
            expected["security.sys_error"] += 1
        for case in AS_USERNAME:
            r = client.post("/login", data={"username": case.text, "password": "x"})
            assert r.status_code == 401
            expected["security.authn_login_fail"] += 1
        r = client.get(f"/reset/{RESET_TOKEN}")
        assert r.status_code == 401
        expected["security.authn_fail"] += 1
        headers = {name: value for name, (value, _) in HEADER_SECRETS.items()}
        r = client.get("/report", headers=headers)
        assert r.status_code == 400
        expected["security.input_validation_fail"] += 1
    return expected


@pytest.fixture(scope="module")
def planted(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("secret-classes")

    def one(kind: str) -> tuple[dict[str, int], str]:
        with running(kind, workdir / kind, {**receiver.env("grpc"), **SETTINGS}) as server:
            expected = plant(server)
            service = f"hostile-{kind}"

            def arrived(collected: Any) -> bool:
                names = [
                    log.event_name
                    for log in collected.security_logs()
                    if log.resource["service.name"] == service
                ]
                return all(names.count(name) >= n for name, n in expected.items())

            receiver.collected.wait_for(arrived, timeout=60)
        return expected, server.output()

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(KINDS, pool.map(one, KINDS), strict=True))


def _logs(receiver: Receiver, kind: str) -> list[Any]:
    return [
        log
        for log in receiver.collected.security_logs()
        if log.resource["service.name"] == f"hostile-{kind}"
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_every_planted_request_was_logged(
    planted: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """Each request carrying a catalogued secret produced its event, so the grep means something."""
    expected, _ = planted[kind]
    names = [log.event_name for log in _logs(receiver, kind)]
    for name, count in expected.items():
        assert names.count(name) >= count, (name, names.count(name), count)


@pytest.mark.parametrize("kind", KINDS)
def test_the_reset_path_arrives_without_its_token(
    planted: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """The 401 on /reset/<token> names the route and the path, with the token segment redacted."""
    fails = [log for log in _logs(receiver, kind) if log.event_name == "security.authn_fail"]
    paths = [log.attributes.get("url.path") for log in fails]
    assert "/reset/[REDACTED]" in paths, paths


@pytest.mark.parametrize("kind", KINDS)
def test_the_reported_header_object_arrives_without_credentials(
    planted: dict[str, Any], receiver: Receiver, kind: str
) -> None:
    """The framework's own header object, handed to seclog.emit, keeps its names, not secrets."""
    (report,) = [
        log for log in _logs(receiver, kind) if log.event_name == "security.input_validation_fail"
    ]
    headers = str(report.attributes["request.headers"]).lower()
    assert "x-api-key" in headers and "[redacted]" in headers


@pytest.mark.parametrize(("name", "needle"), NEEDLES, ids=[f"{n}:{x[:12]}" for n, x in NEEDLES])
def test_no_catalogued_secret_reaches_the_collector(
    planted: dict[str, Any], receiver: Receiver, name: str, needle: str
) -> None:
    """Not one byte sequence of a catalogued secret is in anything the collector received."""
    data = receiver.collected.all_bytes()
    if needle.encode() in data:
        where = sorted(
            {
                f"{log.resource['service.name']}:{log.event_name}:{key}"
                for log in receiver.collected.security_logs()
                for key, value in [*log.attributes.items(), ("body", log.body)]
                if needle in str(value)
            }
        )
        pytest.fail(f"{name} leaked ({needle!r}) in {where or 'spans/metrics'}")


@pytest.mark.parametrize("kind", KINDS)
def test_no_catalogued_secret_on_the_server_stderr(planted: dict[str, Any], kind: str) -> None:
    """The framework's and server's own crash logs print the tracebacks without the secrets."""
    _, output = planted[kind]
    assert "RuntimeError" in output, output[-2000:]
    # Access-log lines print the raw path: the route-named token there is a stated limit.
    leaked = sorted(
        {name for name, needle in NEEDLES if needle in output and needle != RESET_TOKEN}
    )
    assert not leaked, f"{kind} stderr leaked {len(leaked)} secrets: {leaked[:10]}"
