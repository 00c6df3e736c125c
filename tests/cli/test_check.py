"""``seclog check``: a configured app's seclog setup, inspected without serving traffic."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.support import seclog
from tests.support.otlp import free_port, otlp_receiver

APPS = "tests.cli.apps"


def test_django_well_configured_site_passes() -> None:
    """Middleware after authentication, app installed, signals connected: exit code 0."""
    result = seclog("check", "--django", f"{APPS}.django_good")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert (
        "ok       hooks      SecurityLoggingMiddleware in MIDDLEWARE, after authentication" in out
    )
    assert "signals connected: user_logged_in, user_logged_out, user_login_failed" in out
    assert "integrations found: csrf" in out
    assert "trusted proxies: 10.0.0.0/8" in out
    assert "HMAC on every record (key id k1)" in out
    assert "redaction extras: mothers_maiden_name" in out
    assert "WARNING  export     no collector configured" in out
    assert out.endswith("0 errors, 1 warning\n")


def test_django_settings_that_defeat_logging_fail() -> None:
    """DEBUG=True, misordered middleware, a missing app and a root logger at ERROR are errors."""
    result = seclog("check", "--django", f"{APPS}.django_bad")
    assert result.returncode == 1
    out = result.stdout
    assert (
        "ERROR    hooks      SecurityLoggingMiddleware comes before AuthenticationMiddleware" in out
    )
    assert "ERROR    hooks      seclog_django is not in INSTALLED_APPS" in out
    assert "ERROR    settings   DEBUG=True" in out
    assert "ERROR    logging    the root logger's level is ERROR" in out
    assert "WARNING  integrity  no integrity key" in out


def test_reachable_collector_is_reported_as_receiving() -> None:
    """With a real OTLP receiver listening, check says events would arrive, for HTTP and gRPC."""
    with otlp_receiver() as receiver:
        result = seclog(
            "check", "--django", f"{APPS}.django_good", env=receiver.env("http/protobuf")
        )
        grpc = seclog("check", "--django", f"{APPS}.django_good", env=receiver.env("grpc"))
    out = result.stdout
    assert f"ok       export     OTLP exporter to {receiver.http_endpoint} (http/protobuf)" in out
    assert (
        f"ok       collector  the collector at {receiver.http_endpoint}/v1/logs accepted an "
        "empty export" in out
    )
    assert out.endswith("0 errors, 0 warnings\n"), out
    assert f"ok       collector  {receiver.grpc_endpoint} accepts connections" in grpc.stdout
    assert grpc.returncode == 0, grpc.stdout


def test_endpoint_where_nothing_listens_is_an_error_not_ok() -> None:
    """An endpoint on a closed port fails the check within seconds, for HTTP and gRPC."""
    port = free_port()  # bound then released: nothing listens there
    for protocol in ("http/protobuf", "grpc"):
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        }
        started = time.monotonic()
        result = seclog("check", "--django", f"{APPS}.django_good", env=env)
        assert time.monotonic() - started < 15
        assert result.returncode == 1, result.stdout
        assert "ERROR    collector  nothing" in result.stdout
        assert "connection refused" in result.stdout
        assert "events will not arrive" in result.stdout


def test_endpoint_credentials_are_never_printed() -> None:
    """A password in the endpoint URL or a token in OTLP headers never reaches the output."""
    port = free_port()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://ingest:pa55w0rd-xyz@127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer tok-sekrit-123",
    }
    for fmt in ("text", "json"):
        result = seclog("check", "--format", fmt, "--django", f"{APPS}.django_good", env=env)
        output = result.stdout + result.stderr
        assert "127.0.0.1" in output
        assert "pa55w0rd-xyz" not in output
        assert "tok-sekrit-123" not in output


def test_wrong_working_directory_gets_a_hint(tmp_path: Path) -> None:
    """A project that cannot be imported gets a hint naming the directory and PYTHONPATH."""
    result = seclog("check", "--django", "mysite.settings", cwd=tmp_path)
    assert result.returncode == 2
    assert "No module named 'mysite'" in result.stderr
    assert f"current directory ({tmp_path})" in result.stderr
    assert "PYTHONPATH" in result.stderr


def test_strict_makes_warnings_fail() -> None:
    """`--strict` turns warnings (here: no collector) into a failing exit code."""
    assert seclog("check", "--strict", "--django", f"{APPS}.django_good").returncode == 1


def test_flask_factory_with_seclog_passes() -> None:
    """A factory is called; `app.extensions["seclog"]` and its integrations are found."""
    result = seclog("check", "--flask", f"{APPS}.flask_apps:create_app", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["framework"] == "flask"
    assert report["errors"] == 0
    assert "extension" in report["hooks"]
    assert "flask_login" in report["integrations"]
    assert {"level": "ok", "topic": "proxies", "message": "trusted proxy hops: 1"} in report[
        "items"
    ]


def test_flask_app_without_seclog_fails() -> None:
    """An app without SecLog, running with debug on, is reported with two errors."""
    result = seclog("check", "--flask", f"{APPS}.flask_apps:bare", "--format", "json")
    assert result.returncode == 1
    messages = [(i["level"], i["message"]) for i in json.loads(result.stdout)["items"]]
    assert ("error", "SecLog is not initialized on the app (SecLog(app))") in messages
    assert any(level == "error" and "app.debug" in text for level, text in messages)


def test_asgi_wrapped_and_starlette_add_middleware_are_found() -> None:
    """A wrapped app and a Starlette app with add_middleware both count as protected."""
    wrapped = seclog("check", "--asgi", f"{APPS}.asgi_apps:wrapped")
    assert wrapped.returncode == 0
    assert "SecurityLoggingMiddleware wraps the app" in wrapped.stdout
    assert "WARNING  detectors  detectors are off" in wrapped.stdout
    starlette = seclog("check", "--asgi", f"{APPS}.asgi_apps:starlette_app")
    assert starlette.returncode == 0
    assert "trusted proxies: 127.0.0.1" in starlette.stdout


def test_asgi_app_without_middleware_fails() -> None:
    """An ASGI app with no SecurityLoggingMiddleware in its chain is an error."""
    result = seclog("check", "--asgi", f"{APPS}.asgi_apps:unprotected")
    assert result.returncode == 1
    assert "SecurityLoggingMiddleware is not in the app's middleware chain" in result.stdout


def test_unloadable_target_is_a_usage_error() -> None:
    """A module that cannot be imported gives exit code 2 and a one-line reason."""
    result = seclog("check", "--asgi", f"{APPS}.missing:app")
    assert result.returncode == 2
    assert result.stderr.startswith("seclog check: cannot import tests.cli.apps.missing")
    assert seclog("check", "--asgi", "no_colon").returncode == 2


def test_inventory_markdown_lists_events_format_and_destinations(tmp_path: Path) -> None:
    """`--inventory` writes the ASVS 16.1.1 inventory: events and triggers, format, destinations."""
    out = tmp_path / "inventory.md"
    result = seclog("check", "--django", f"{APPS}.django_good", "--inventory", "-o", str(out))
    assert result.returncode == 0
    text = out.read_text()
    assert text.startswith("# Security logging inventory\n")
    assert "OWASP ASVS 5.0 16.1.1" in text
    assert "- **stderr**: format: JSON lines" in text
    assert "`seclog.mac`" in text  # an integrity key is configured
    assert (
        "| `security.authn_login_fail` | WARN | Django signal user_login_failed; manual API |"
        in text
    )
    assert "| `security.authz_fail` | WARN | HTTP 403 response; manual API |" in text
    assert "detector brute_force: 10 x authn_login_fail per user.name within 300 s" in text


def test_inventory_json_names_the_collector() -> None:
    """The JSON inventory names the OTLP endpoint and every vocabulary event."""
    with otlp_receiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint}
        result = seclog(
            "check",
            "--asgi",
            f"{APPS}.asgi_apps:starlette_app",
            "--inventory",
            "--format",
            "json",
            env=env,
        )
    assert result.returncode == 0
    inventory = json.loads(result.stdout)
    assert inventory["destinations"][0] == {
        "kind": "otlp",
        "endpoint": receiver.http_endpoint,
        "protocol": "http/protobuf",
    }
    names = {event["event_name"] for event in inventory["events"]}
    assert {"security.authn_fail", "security.sys_error", "security.authn_login_fail_max"} <= names
    assert "user.name" in inventory["format"]["attributes"]
