"""Login detection under a real uvicorn: the example app's OAuth2 token route, a real collector."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

import httpx

from tests.asgi.test_fastapi_e2e import serve
from tests.support.otlp import free_port, otlp_receiver


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_oauth2_form_logins_reach_the_collector_from_a_real_server() -> None:
    """A failed (chunked, huge) and a good form login to /token arrive as login events."""
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port)]
    with otlp_receiver() as receiver, serve(command, receiver, port) as server:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            form = b"username=alice&password=guess&pad=" + b"x" * 200_000
            headers = {"content-type": "application/x-www-form-urlencoded"}
            # A generator body goes out with Transfer-Encoding: chunked.
            failed = client.post("/token", content=_chunks(form, 4096), headers=headers)
            assert failed.status_code == 401
            good = client.post("/token", data={"username": "root", "password": "correct horse"})
            assert good.status_code == 200
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=20)[0]
        collected = receiver.collected
        wanted = {"security.authn_login_fail", "security.authn_login_success"}
        assert collected.wait_for(
            lambda c: wanted <= {log.event_name for log in c.security_logs()}, timeout=5
        ), output
        logs = {log.event_name: log for log in collected.security_logs()}
        assert logs["security.authn_login_fail"].attributes["user.name"] == "alice"
        assert logs["security.authn_login_fail"].attributes["http.route"] == "/token"
        assert logs["security.authn_login_success"].attributes["user.name"] == "root"
        names = [log.event_name for log in collected.security_logs()]
        assert "security.authn_fail" not in names  # the 401 was the login's, reported once
        raw = collected.all_bytes()
        assert b"guess" not in raw
        assert b"correct horse" not in raw
