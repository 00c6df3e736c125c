"""``seclog check`` prints every URL it names without credentials, whatever their shape."""

from __future__ import annotations

import pytest

from tests.cli.support import seclog
from tests.support.otlp import free_port

APPS = "tests.cli.apps"


@pytest.mark.parametrize(
    ("userinfo", "secret"),
    [
        ("ingest:Ck@Pw-1", "Pw-1"),  # '@' in the password
        ("ingest:Ck%40Pw-2", "Pw-2"),  # percent-encoded
        ("ingest:Ck:Pw-3", "Pw-3"),  # ':' in the password
        (":CkPw-4", "CkPw-4"),  # no user name
    ],
)
def test_endpoint_credentials_of_any_shape_are_never_printed(userinfo: str, secret: str) -> None:
    """The collector endpoint and the Redis URL lose their credentials in the report."""
    port = free_port()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{userinfo}@127.0.0.1:{port}",
        "SECLOG_REDIS_URL": f"redis://{userinfo}@127.0.0.1:{free_port()}/0?password={secret}x",
    }
    result = seclog("check", "--django", f"{APPS}.django_good", env=env)
    output = result.stdout + result.stderr
    assert "127.0.0.1" in output
    assert secret not in output, output


def test_inventory_names_the_collector_without_credentials() -> None:
    """The inventory (shared as ASVS evidence) names the endpoint but not its password."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://ingest:InvPw-5@127.0.0.1:{free_port()}"}
    for fmt in ("json", "text"):
        result = seclog(
            "check", "--django", f"{APPS}.django_good", "--inventory", "--format", fmt, env=env
        )
        assert "127.0.0.1" in result.stdout
        assert "InvPw-5" not in result.stdout + result.stderr


def test_demo_names_the_collector_without_credentials() -> None:
    """The demo's summary line names the collector but not its password."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://demo:DemoPw-6@127.0.0.1:{free_port()}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    result = seclog("demo", env=env, timeout=120)
    assert "exported to the collector at" in result.stdout, result.stdout[-2000:]
    assert "DemoPw-6" not in result.stdout + result.stderr
