"""Type-checked (mypy --strict), never run: the README's documented core usage."""

from __future__ import annotations

import logging

from opentelemetry.sdk._logs import LoggerProvider

import seclog_core as seclog
from seclog_core import RedactingFilter, RedactingLogRecordProcessor
from seclog_core.testing import CapturedEvents, capture_security_events


def manual_api() -> None:
    event: seclog.SecurityEvent | None = seclog.login_failed(username="bob")
    seclog.login_succeeded(username="bob", auth_method="jwt")
    seclog.access_denied(resource="/admin/export")
    seclog.emit("authz_fail", resource="/admin/export")
    seclog.emit("authn_token_revoked", token_id="tok_123", message="Refresh token revoked.")
    seclog.register_event_type(
        "billing_refund_denied", severity="WARN", outcome="failure", description="Denied."
    )
    if event is not None:
        reason: str | None = event.reason
        print(reason, event.attributes["user.name"])


def configuration() -> None:
    settings: seclog.Settings = seclog.configure(
        trusted_proxies=["10.0.0.0/8"],
        field_policies={"user.name": "pseudonymize"},
        pseudonymize_key="a-long-random-secret-from-your-vault",
    )
    print(settings.proxies.configured)


def scrubbing() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    provider = LoggerProvider()
    provider.add_log_record_processor(RedactingLogRecordProcessor())


def capturing() -> None:
    with capture_security_events() as events:
        seclog.logout(username="bob")
    captured: CapturedEvents = events
    assert captured.one("authn_logout").outcome == "success"


def context() -> None:
    with seclog.request_context(client_address="203.0.113.9", route="/login") as ctx:
        ctx.user_name = "bob"
        seclog.login_succeeded()
