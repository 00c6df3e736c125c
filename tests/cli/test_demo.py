"""``seclog demo``: the README's first command shows an attack being caught."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time

from tests.cli.support import TESTS_ROOT, seclog
from tests.support.otlp import otlp_receiver

SECRETS = ("S3cr3t-Passw0rd", "sk_live_51HqLyjWDarjtT1zdp7dc", "correct horse battery staple")


def _normalized(text: str) -> str:
    return re.sub(r"trace [0-9a-f]{8}", "trace ........", text)


def test_demo_shows_the_attack_and_a_summary() -> None:
    """The demo exits 0, quickly, and shows each attack step's events and the summary."""
    started = time.monotonic()
    result = seclog("demo")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 10
    out = result.stdout
    assert "[5] POST /login -> 401  brute force: wrong password #5 for alice" in out
    assert "ERROR security.authn_login_fail_max" in out
    assert "WARN  security.authn_login_successafterfail" in out
    assert "[7] GET /admin -> 403" in out and "WARN  security.authz_fail" in out
    assert "security.forwarded=10.0.0.1" in out
    assert "[10] GET /crash -> 500" in out and "ERROR security.sys_error" in out
    assert "postgresql://[REDACTED]@db.internal:5432/payments api_key=[REDACTED]" in out
    assert "alerts raised: 1 (security.authn_login_fail_max)" in out
    assert "secrets scrubbed before export: 2" in out
    assert "12 security events from 10 requests (10 traces)" in out
    assert "no collector configured" in out
    assert not any(secret in out + result.stderr for secret in SECRETS)


def test_demo_correlates_alert_with_the_triggering_request() -> None:
    """The brute-force alert carries the trace id of the failed login that crossed the line."""
    out = seclog("demo").stdout
    step5 = out.split("[5] POST /login")[1].split("[6]")[0]
    traces = re.findall(r"trace ([0-9a-f]{8})", step5)
    assert len(traces) == 2 and traces[0] == traces[1]
    sequences = [int(n) for n in re.findall(r"seq (\d+)", out)]
    assert sequences == list(range(1, 13))


def test_log_injection_is_neutralized_in_the_output() -> None:
    """The injected CR/LF show escaped on one line and the ANSI escape is gone."""
    result = seclog("demo")
    assert "user.name=bob\\r\\n2025-01-01T00:00:00Z INFO login ok user=admin\n" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\r" not in result.stdout


def test_demo_output_is_deterministic_apart_from_ids() -> None:
    """Two runs print the same text once trace ids are masked."""
    first, second = seclog("demo").stdout, seclog("demo").stdout
    assert _normalized(first) == _normalized(second)


def test_colour_on_a_terminal_and_no_color_respected() -> None:
    """On a terminal the output is coloured; with NO_COLOR set it is plain; --color forces."""

    def on_tty(env: dict[str, str], *args: str) -> str:
        leader, follower = pty.openpty()
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "NO_C"))}
        environ["PYTHONPATH"] = str(TESTS_ROOT)
        environ.update(env)
        with subprocess.Popen(
            [sys.executable, "-m", "seclog_cli", "demo", *args],
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env=environ,
        ) as process:
            os.close(follower)
            chunks = []
            while True:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            process.wait(timeout=30)
        os.close(leader)
        return b"".join(chunks).decode()

    assert "\x1b[31;1mERROR" in on_tty({})
    assert "\x1b[" not in on_tty({"NO_COLOR": "1"})
    assert "\x1b[" not in on_tty({}, "--color", "never")
    assert "\x1b[31;1mERROR" in seclog("demo", "--color", "always").stdout


def test_demo_events_reach_a_configured_collector() -> None:
    """With OTEL_EXPORTER_OTLP_ENDPOINT set, the same events arrive at the collector, scrubbed."""
    with otlp_receiver() as receiver:
        result = seclog("demo", env=receiver.env("grpc"))
        assert result.returncode == 0, result.stderr
        assert f"exported to the collector at {receiver.grpc_endpoint}" in result.stdout
        assert receiver.collected.wait_for(lambda c: len(c.security_logs()) >= 12, timeout=20)
        names = [log.event_name for log in receiver.collected.security_logs()]
        assert names.count("security.authn_login_fail") == 6
        assert "security.authn_login_fail_max" in names
        crash = next(
            log for log in receiver.collected.security_logs() if "sys_error" in log.event_name
        )
        assert crash.attributes["exception.message"].endswith("api_key=[REDACTED]")
        shown = re.search(r"ERROR security.sys_error  trace ([0-9a-f]{8})", result.stdout)
        assert shown is not None and crash.trace_id.startswith(shown.group(1))
        raw = receiver.collected.all_bytes()
        assert not any(secret.encode() in raw for secret in SECRETS)
