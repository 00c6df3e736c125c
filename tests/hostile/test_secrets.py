"""Secrets: a catalogue of planted secrets sent through every adapter never reaches the collector.

Passwords in form fields, JSON bodies, query strings and exception messages;
cards with and without separators; JWTs; bearer and basic credentials; AWS keys;
private key blocks; session cookies; credentials in URLs. They travel as user
names, headers, query strings, bodies and exception text; the test greps every
byte the OTLP receiver got (logs, spans and metrics) and finds none of them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.otlp import Receiver

from . import secrets_catalogue as cat
from .servers import KINDS, Server, running


def plant(server: Server) -> int:
    """Send every planted secret to ``server``; returns how many security events it should log."""
    expected = 0
    headers = {
        "Authorization": cat.BEARER.value,
        "Cookie": cat.SESSION.value,
        "User-Agent": f"hostile-client/1.0 (token {cat.JWT})",
        "X-Forwarded-For": f"203.0.113.7, {cat.AWS_KEY.value}",
        "Referer": cat.URL_CREDS.value,
    }
    with server.client(headers=headers) as client:
        r = client.post("/login", data={"username": "alice", "password": cat.FORM_PASSWORD.value})
        assert r.status_code == 401
        expected += 1
        for secret in cat.AS_USERNAME:
            r = client.post("/login", data={"username": secret.value, "password": "x"})
            assert r.status_code == 401
            expected += 1
        r = client.get("/private", params=cat.boom_query())
        assert r.status_code == 401
        expected += 1
        r = client.get("/private", headers={"Authorization": cat.BASIC_CRED.value})
        assert r.status_code == 401
        expected += 1
    with server.client(headers=headers) as client:
        r = client.post(
            "/boom",
            params=cat.boom_query(),
            content=cat.boom_json(),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 500
        expected += 1
    return expected


@pytest.fixture(scope="module")
def planted(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("secrets")

    def one(kind: str) -> int:
        with running(kind, workdir / kind, receiver.env("grpc")) as server:
            expected = plant(server)
            service = f"hostile-{kind}"

            def arrived(collected: Any) -> bool:
                mine = [
                    log.event_name
                    for log in collected.security_logs()
                    if log.resource["service.name"] == service
                ]
                return len(mine) >= expected and "security.sys_error" in mine

            receiver.collected.wait_for(arrived, timeout=20)
            return expected

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(KINDS, pool.map(one, KINDS), strict=True))


@pytest.mark.parametrize("kind", KINDS)
def test_the_planted_requests_were_logged(
    planted: dict[str, int], receiver: Receiver, kind: str
) -> None:
    """Every request that carried a secret produced its event (so the grep means something)."""
    logs = [
        log
        for log in receiver.collected.security_logs()
        if log.resource["service.name"] == f"hostile-{kind}"
    ]
    assert len(logs) >= planted[kind]
    types = {log.event_name for log in logs}
    assert {"security.authn_login_fail", "security.authn_fail", "security.sys_error"} <= types
    boom = next(log for log in logs if log.event_name == "security.sys_error")
    assert "database refused" in boom.attributes["exception.message"]


@pytest.mark.parametrize("secret", cat.ALL, ids=lambda s: s.name)
def test_no_planted_secret_reaches_the_collector(
    planted: dict[str, int], receiver: Receiver, secret: cat.Secret
) -> None:
    """Not one byte sequence of a planted secret is in anything the collector received."""
    data = receiver.collected.all_bytes()
    leaked = [needle for needle in secret.needles if needle.encode() in data]
    if leaked:
        where = sorted(
            {
                f"{log.resource['service.name']}:{log.event_name}:{key}"
                for log in receiver.collected.security_logs()
                for key, value in [*log.attributes.items(), ("body", log.body)]
                if any(needle in str(value) for needle in leaked)
            }
        )
        pytest.fail(f"{secret.name} leaked ({leaked}) in {where or 'spans/metrics'}")
