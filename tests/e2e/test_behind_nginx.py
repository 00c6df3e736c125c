"""Behind a real nginx: the client address is the real client, honest traffic is quiet.

Each adapter runs under the server users deploy it with: Flask and Django under
gunicorn with ``SECLOG_TRUSTED_PROXIES=127.0.0.1, unix`` (TCP and a unix
socket), FastAPI under uvicorn with its defaults (proxy headers on, nginx on
127.0.0.1 trusted) and no seclog setting at all. Clients connect from distinct
loopback addresses (127.0.0.5, ...), so the real client is distinguishable from
the proxy (127.0.0.1); events are read at a real OTLP receiver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import Proxy, app_server, gunicorn, nginx, server_env, uvicorn
from tests.support.otlp import Collected, ReceivedLog, free_port, otlp_receiver

TRUSTED = {"SECLOG_TRUSTED_PROXIES": "127.0.0.1, unix"}


@dataclass(frozen=True)
class Adapter:
    name: str
    target: str
    server: str  # gunicorn | uvicorn
    settings: dict[str, str]


ADAPTERS = [
    Adapter("flask", "tests.e2e.apps.flask_app:app", "gunicorn", TRUSTED),
    Adapter("django", "tests.e2e.apps.django_wsgi:application", "gunicorn", TRUSTED),
    Adapter("fastapi", "tests.e2e.apps.fastapi_app:app", "uvicorn", {}),
]


@dataclass(frozen=True)
class Case:
    name: str  # the request path is /forbidden/<name>
    source: str  # the client's own address
    via: str  # one_hop | two_hops | unix | direct
    headers: dict[str, str]


CASES = [
    Case("one-hop", "127.0.0.5", "one_hop", {}),
    Case("two-hops", "127.0.0.6", "two_hops", {}),
    # A forged X-Forwarded-For and Forwarded from the client: nginx appends the real one.
    Case(
        "forged", "127.0.0.7", "one_hop", {"X-Forwarded-For": "6.6.6.6", "Forwarded": "for=6.6.6.7"}
    ),
    Case("forged-junk", "127.0.0.8", "two_hops", {"X-Forwarded-For": "6.6.6.8, junk"}),
    Case("unix", "127.0.0.9", "unix", {}),
    # Last: straight to the app with a forged header is a spoofing attempt, reported once.
    Case("direct", "127.0.0.10", "direct", {"X-Forwarded-For": "6.6.6.10"}),
]


def denied(collected: Collected) -> dict[str, ReceivedLog]:
    """The authz_fail events at the receiver, by request path."""
    return {
        str(log.attributes.get("url.path")): log
        for log in collected.security_logs()
        if log.event_name == "security.authz_fail"
    }


def _send(case: Case, ports: dict[str, int]) -> None:
    transport = httpx.HTTPTransport(local_address=case.source)
    with httpx.Client(transport=transport, timeout=10.0) as client:
        response = client.get(
            f"http://127.0.0.1:{ports[case.via]}/forbidden/{case.name}", headers=case.headers
        )
    assert response.status_code == 403, (case, response.status_code, response.text[:300])


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.name)
def test_client_address_behind_nginx_is_the_real_client(adapter: Adapter, tmp_path: Path) -> None:
    """One and two nginx hops, a unix socket, forged headers: client.address is the client."""
    app_port = free_port()
    ports = {"direct": app_port, "one_hop": free_port(), "two_hops": free_port()}
    proxies = [
        Proxy(ports["one_hop"], f"127.0.0.1:{app_port}"),
        Proxy(ports["two_hops"], f"127.0.0.1:{ports['one_hop']}"),
    ]
    cases = CASES
    if adapter.server == "gunicorn":
        sock = tmp_path / "app.sock"
        command = gunicorn(adapter.target, app_port, unix_socket=sock)
        ports["unix"] = free_port()
        proxies.append(Proxy(ports["unix"], f"unix:{sock}:"))
    else:
        command = uvicorn(adapter.target, app_port)
        cases = [case for case in CASES if case.via != "unix"]

    with otlp_receiver() as receiver:
        env = server_env(receiver, tmp_path, adapter.settings)
        with (
            app_server(command, env, app_port, tmp_path / "app") as server,
            nginx(tmp_path / "nginx", proxies),
        ):
            for case in cases:
                _send(case, ports)
            collected = receiver.collected
            wanted = {f"/forbidden/{case.name}" for case in cases}

            assert collected.wait_for(lambda c: wanted <= set(denied(c))), (
                sorted(denied(collected)),
                server.output()[-3000:],
            )

        for case in cases:
            event = denied(collected)[f"/forbidden/{case.name}"]
            assert event.attributes["client.address"] == case.source, (case, event.attributes)
        spoofs = [
            log
            for log in collected.security_logs()
            if log.event_name == "security.malicious_extraneous"
        ]
        # Honest traffic and forged headers behind nginx are quiet; only the direct forger is named.
        assert [log.attributes["client.address"] for log in spoofs] == ["127.0.0.10"]
        assert spoofs[0].attributes["security.reason"] == "untrusted_forwarded_header"
        output = server.output()
        for case in cases[:-1]:
            assert f"from {case.source}," not in output
        assert "from 127.0.0.1," not in output


@pytest.mark.parametrize(
    ("header", "value"), [("X-Real-IP", "$remote_addr"), ("Forwarded", "$proxy_add_forwarded")]
)
@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.name)
def test_the_configured_header_set_by_nginx_is_the_one_read(
    adapter: Adapter, header: str, value: str, tmp_path: Path
) -> None:
    """With forwarded_header=X-Real-IP or Forwarded, nginx's value wins over forged headers.

    nginx sets only that header, so the client's forged X-Forwarded-For reaches the app:
    uvicorn's proxy headers would believe it, so there they are off and seclog trusts nginx.
    """
    app_port, proxy_port = free_port(), free_port()
    proxies = [Proxy(proxy_port, f"127.0.0.1:{app_port}", ((header, value),), False)]
    if adapter.server == "gunicorn":
        command = gunicorn(adapter.target, app_port)
    else:
        command = [*uvicorn(adapter.target, app_port), "--no-proxy-headers"]
    settings = {**TRUSTED, "SECLOG_FORWARDED_HEADER": header}
    forged = {"X-Real-IP": "6.6.6.6", "X-Forwarded-For": "6.6.6.7", "Forwarded": "for=6.6.6.8"}
    cases = [
        Case("real-ip-honest", "127.0.0.11", "one_hop", {}),
        Case("real-ip-forged", "127.0.0.12", "one_hop", forged),
    ]
    with otlp_receiver() as receiver:
        env = server_env(receiver, tmp_path, settings)
        with (
            app_server(command, env, app_port, tmp_path / "app") as server,
            nginx(tmp_path / "nginx", proxies),
        ):
            for case in cases:
                _send(case, {"one_hop": proxy_port})
            collected = receiver.collected

            wanted = {f"/forbidden/{case.name}" for case in cases}
            assert collected.wait_for(lambda c: wanted <= set(denied(c))), server.output()[-3000:]
    for case in cases:
        event = denied(collected)[f"/forbidden/{case.name}"]
        assert event.attributes["client.address"] == case.source, (case, event.attributes)
    names = {log.event_name for log in collected.security_logs()}
    assert "security.malicious_extraneous" not in names


def test_uvicorn_over_a_unix_socket_with_unix_trusted(tmp_path: Path) -> None:
    """nginx -> uvicorn --uds: with trusted_proxies=unix the client is the real one, quietly."""
    sock, proxy_port = tmp_path / "app.sock", free_port()
    proxies = [Proxy(proxy_port, f"unix:{sock}:")]
    command = uvicorn("tests.e2e.apps.fastapi_app:app", sock)
    cases = [
        Case("uds-honest", "127.0.0.13", "one_hop", {}),
        Case("uds-forged", "127.0.0.14", "one_hop", {"X-Forwarded-For": "6.6.6.6"}),
    ]
    with otlp_receiver() as receiver:
        env = server_env(receiver, tmp_path, {"SECLOG_TRUSTED_PROXIES": "unix"})
        with (
            app_server(command, env, sock, tmp_path / "app") as server,
            nginx(tmp_path / "nginx", proxies),
        ):
            for case in cases:
                _send(case, {"one_hop": proxy_port})
            collected = receiver.collected

            wanted = {f"/forbidden/{case.name}" for case in cases}
            assert collected.wait_for(lambda c: wanted <= set(denied(c))), server.output()[-3000:]
    for case in cases:
        event = denied(collected)[f"/forbidden/{case.name}"]
        assert event.attributes["client.address"] == case.source, (case, event.attributes)
    names = {log.event_name for log in collected.security_logs()}
    assert "security.malicious_extraneous" not in names
