"""`opentelemetry-instrument` turns seclog on for apps with no seclog line in their code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.otlp import Receiver, free_port, otlp_receiver

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APPS = {
    "django": ["-m", "tests.instrumentation.apps.django_plain"],
    "flask": ["tests/instrumentation/apps/flask_plain.py"],
    "fastapi": ["tests/instrumentation/apps/fastapi_plain.py"],
    # The example apps wire seclog themselves: the instrumentor must not double it.
    "flask-example": [
        "-c",
        "import os, sys; os.environ['PORT'] = sys.argv[1]; "
        "sys.argv[0] = 'x'; import runpy; "
        "runpy.run_path('example_projects/flask_app/app.py', run_name='__main__')",
    ],
    "fastapi-example": ["example_projects/fastapi_app/app.py", "--port"],
}
PLAIN = ("django", "fastapi", "flask")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the app exited early: {process.stderr.read()!r}")  # type: ignore[union-attr]
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the app did not start listening")


@contextmanager
def instrumented(app: str, receiver: Receiver, **extra_env: str) -> Iterator[int]:
    """Serve `app` under the real opentelemetry-instrument command; yield its port."""
    port = free_port()
    state = tempfile.TemporaryDirectory(prefix="seclog-instrument-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(receiver.env("http/protobuf"))
    env.update(
        {
            "OTEL_SERVICE_NAME": f"plain-{app}",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "none",
            "PYTHONPATH": str(ROOT),
            # seclog's detector state and spool stay in a temporary directory.
            "SECLOG_STATE_DIR": state.name,
            "SECLOG_SPOOL_DIR": str(Path(state.name) / "spool"),
            # As for the contrib Django instrumentor: settings named before the app starts.
            "DJANGO_SETTINGS_MODULE": "tests.instrumentation.apps.django_plain",
            **extra_env,
        }
    )
    process = subprocess.Popen(
        [str(BIN / "opentelemetry-instrument"), sys.executable, *APPS[app], str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        state.cleanup()


def _request(port: int, method: str, path: str) -> int:
    data = b"username=alice&password=wrong" if method == "POST" else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _security_names(receiver: Receiver) -> set[str]:
    return {log.event_name for log in receiver.collected.security_logs()}


@pytest.mark.parametrize("app", PLAIN)
def test_security_events_arrive_with_no_seclog_line_in_the_app(app: str) -> None:
    """A failing login and a 403 reach the OTLP receiver as security events, with a trace."""
    expected = {"security.authn_login_fail" if app == "django" else "security.authn_fail"}
    expected.add("security.authz_fail")
    with otlp_receiver() as receiver, instrumented(app, receiver) as port:
        assert _request(port, "POST", "/login") == 401
        assert _request(port, "GET", "/admin") == 403
        arrived = receiver.collected.wait_for(
            lambda c: expected <= {log.event_name for log in c.security_logs()}, timeout=20
        )
        assert arrived, _security_names(receiver)
        # Through the providers auto-instrumentation set up: its resource names the service.
        log = next(x for x in receiver.collected.security_logs() if x.event_name in expected)
        assert log.resource.get("service.name") == f"plain-{app}"
        assert log.trace_id and set(log.trace_id) != {"0"}


def test_disabled_instrumentation_leaves_the_app_alone() -> None:
    """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=seclog turns seclog off; other telemetry flows."""
    with (
        otlp_receiver() as receiver,
        instrumented("flask", receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="seclog") as port,
    ):
        assert _request(port, "GET", "/admin") == 403
        # The contrib Flask instrumentation's span for the same request proves export works.
        assert receiver.collected.wait_for(lambda c: bool(c.spans), timeout=20)
        time.sleep(1.0)
        assert _security_names(receiver) == set()


@pytest.mark.parametrize("app", ["flask-example", "fastapi-example"])
def test_app_that_wires_seclog_itself_logs_each_event_once(app: str) -> None:
    """Under opentelemetry-instrument, an app with its own SecLog or middleware is not doubled."""
    with otlp_receiver() as receiver, instrumented(app, receiver) as port:
        assert _request(port, "GET", "/boom") == 500
        assert receiver.collected.wait_for(
            lambda c: "security.sys_error" in {log.event_name for log in c.security_logs()},
            timeout=20,
        )
        time.sleep(1.0)
        names = [log.event_name for log in receiver.collected.security_logs()]
    assert names.count("security.sys_error") == 1, names
