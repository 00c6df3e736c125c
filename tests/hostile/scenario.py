"""The scripted scenario every adapter goes through, and how its event streams are compared."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.support.otlp import ReceivedLog

from .apps import PASSWORD, USERNAME
from .servers import Server

WRONG = "Pw-hostile-7Q9x!zz"  # a wrong password: must never be logged
INJECTED_USERNAME = "mallory\r\n2026-01-01 INFO security.authn_login_success user=admin\x1b[2J"
FORGED_XFF = "6.6.6.6, 10.0.0.1"


def run_scenario(server: Server) -> list[tuple[str, int]]:
    """Drive the scenario; returns (step, status) so responses are compared too."""
    steps: list[tuple[str, int]] = []
    with server.client() as client:
        for _ in range(3):
            r = client.post("/login", data={"username": USERNAME, "password": WRONG})
            steps.append(("login_fail", r.status_code))
        r = client.post("/login", data={"username": USERNAME, "password": PASSWORD})
        steps.append(("login_ok", r.status_code))
        steps.append(("admin_403", client.get("/admin").status_code))
        steps.append(("logout", client.post("/logout").status_code))
    with server.client() as anonymous:
        steps.append(("private_401", anonymous.get("/private").status_code))
        steps.append(("limited_429", anonymous.get("/limited").status_code))
        steps.append(("csrf", anonymous.post("/csrf-form", data={"x": "1"}).status_code))
    # uvicorn closes the connection after an exception escaped the app: a fresh one each.
    with server.client() as anonymous:
        steps.append(("boom_500", anonymous.get("/boom").status_code))
    with server.client() as anonymous:
        r = anonymous.get("/", headers={"X-Forwarded-For": FORGED_XFF})
        steps.append(("forged_xff", r.status_code))
        r = anonymous.post("/login", data={"username": INJECTED_USERNAME, "password": WRONG})
        steps.append(("injected_username", r.status_code))
    return steps


def shape(log: ReceivedLog) -> dict[str, Any]:
    """What must match across adapters: type, severity, outcome, reason, attribute names."""
    attrs = log.attributes
    return {
        "event": log.event_name,
        "severity": (log.severity_number, log.severity_text),
        "outcome": attrs.get("security.outcome"),
        "reason": attrs.get("security.reason"),
        "names": sorted(k for k in attrs if not k.startswith("seclog.")),
    }


def stream(logs: Sequence[ReceivedLog], service: str) -> list[ReceivedLog]:
    """One service's security events in sequence order."""
    mine = [log for log in logs if log.resource.get("service.name") == service]
    return sorted(
        mine, key=lambda log: (log.attributes.get("seclog.sequence", 0), log.time_unix_nano)
    )
