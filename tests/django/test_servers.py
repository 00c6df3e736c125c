"""End to end: the example site under gunicorn (WSGI) and uvicorn (ASGI), a real collector."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.otlp import free_port, otlp_receiver

SITE = Path(__file__).resolve().parents[2] / "example_projects" / "django_site"
BIN = Path(sys.executable).parent


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start in time")


@contextmanager
def _serve(command: list[str], env: dict[str, str], port: int) -> Iterator[None]:
    proc = subprocess.Popen(
        command, cwd=SITE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_for_port(port, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()


SERVERS = {
    "gunicorn": lambda port: [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "django_site.wsgi:application",
    ],
    # The app (and seclog's providers, built in AppConfig.ready) loaded before the fork.
    "gunicorn-preload": lambda port: [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--preload",
        "django_site.wsgi:application",
    ],
    "uvicorn": lambda port: [
        str(BIN / "uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "django_site.asgi:application",
    ],
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_example_site_under_a_real_server(server: str, tmp_path: Path) -> None:
    """A failed login, a 403 and a crash arrive at the OTLP receiver with no secret in the bytes."""
    with otlp_receiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
        env.update(receiver.env("grpc"))
        env.update(
            DJANGO_SITE_DB=str(tmp_path / "db.sqlite3"),
            OTEL_SERVICE_NAME=f"django-site-{server}",
            PYTHONPATH=str(SITE),
        )
        setup = subprocess.run(
            [sys.executable, str(SITE / "run.py"), "--setup"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert setup.returncode == 0, setup.stderr
        port = free_port()
        with _serve(SERVERS[server](port), env, port):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                page = client.get("/login/")
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
                assert token is not None
                failed = client.post(
                    "/login/",
                    data={
                        "username": "demo",
                        "password": "wrong-password-zz9",
                        "csrfmiddlewaretoken": token.group(1),
                    },
                    headers={"Referer": f"http://127.0.0.1:{port}/login/"},
                )
                assert failed.status_code == 200
                assert client.get("/staff/").status_code == 403
                assert client.get("/fail/").status_code == 500
            collected = receiver.collected
            wanted = {"security.authn_login_fail", "security.authz_fail", "security.sys_error"}
            assert collected.wait_for(
                lambda c: wanted <= {log.event_name for log in c.security_logs()}, timeout=20
            ), [log.event_name for log in collected.security_logs()]
        logs = {log.event_name: log for log in collected.security_logs()}
        fail = logs["security.authn_login_fail"]
        assert fail.severity_text == "WARN"
        assert fail.attributes["user.name"] == "demo"
        assert fail.attributes["client.address"] == "127.0.0.1"
        assert fail.attributes["http.route"] == "login/"
        assert fail.resource["service.name"] == f"django-site-{server}"
        deny = logs["security.authz_fail"]
        assert deny.attributes["security.reason"] == "permission_denied"
        assert deny.attributes["http.response.status_code"] == 403
        crash = logs["security.sys_error"]
        assert crash.severity_text == "ERROR"
        assert crash.attributes["exception.type"] == "RuntimeError"
        raw = collected.all_bytes()
        assert b"wrong-password-zz9" not in raw
        assert b"s3cr3t-in-a-message" not in raw
