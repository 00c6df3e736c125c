"""What adapters share: client resolution at request start, status events at the end."""

from __future__ import annotations

import logging

import pytest

import seclog_core as seclog
from seclog_core.context import (
    RequestContext,
    current_request_context,
    detached,
    request_context,
)
from seclog_core.http import describe_request, finish_request, start_request
from seclog_core.testing import capture_security_events
from tests.support.telemetry import Telemetry, in_memory_telemetry


@pytest.mark.parametrize(
    ("status", "event_type", "reason"),
    [
        (401, "authn_fail", "unauthenticated"),
        (403, "authz_fail", "forbidden"),
        (429, "excess_rate_limit_exceeded", "rate_limited"),
        (500, "sys_error", "server_error"),
        (503, "sys_error", "server_error"),
    ],
)
def test_status_codes_become_events(
    telemetry: Telemetry, status: int, event_type: str, reason: str
) -> None:
    """401/403/429/5xx responses are security events with the status attached."""
    ctx = start_request(method="GET", path="/x", peer="203.0.113.5")
    with capture_security_events() as events:
        finish_request(ctx, status)
    event = events.one(event_type)
    assert event.reason == reason
    assert event.attributes["http.response.status_code"] == status
    assert event.attributes["client.address"] == "203.0.113.5"


@pytest.mark.parametrize("status", [200, 201, 302, 400, 404])
def test_ordinary_statuses_are_quiet(telemetry: Telemetry, status: int) -> None:
    """Success, redirects, 400 and 404 emit nothing by themselves."""
    ctx = start_request(method="GET", path="/x", peer="203.0.113.5")
    with capture_security_events() as events:
        finish_request(ctx, status)
    assert events == []


def test_a_signal_event_is_not_repeated_by_the_status(telemetry: Telemetry) -> None:
    """A 403 already explained by authz_fail (or CSRF) does not emit a second event."""
    ctx = start_request(method="POST", path="/x", peer="203.0.113.5")
    with capture_security_events() as events, seclog.request_context(ctx):
        seclog.emit("input_validation_fail", reason="csrf_token_missing")
        finish_request(ctx, 403)
    assert events.types == ["input_validation_fail"]


def test_escaped_exception_is_one_sys_error(telemetry: Telemetry) -> None:
    """An exception that escaped the app is reported once, as a 500."""
    ctx = start_request(method="GET", path="/boom", peer="203.0.113.5")
    with capture_security_events() as events:
        finish_request(ctx, None, exception=ValueError("token=abc123 bad"))
        finish_request(ctx, 500)
    event = events.one("sys_error")
    assert event.attributes["exception.type"] == "ValueError"
    assert "abc123" not in str(event.attributes["exception.message"])
    assert event.attributes["http.response.status_code"] == 500


def test_forged_forwarding_header_is_reported_once_per_peer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A spoofed X-Forwarded-For is ignored, warned about once, and reported rate-limited."""
    with (
        in_memory_telemetry(),
        capture_security_events() as events,
        caplog.at_level(logging.WARNING, logger="seclog"),
    ):
        for _ in range(5):
            ctx = start_request(
                method="GET", path="/", peer="203.0.113.5", x_forwarded_for="1.2.3.4"
            )
            assert ctx.client_address == "203.0.113.5"
    assert len(events.of_type("malicious_extraneous")) == 1
    assert events[0].reason == "untrusted_forwarded_header"
    assert sum("not a trusted proxy" in r.getMessage() for r in caplog.records) == 1


def test_trusted_proxy_forwarding_is_honoured() -> None:
    """Behind a configured proxy the forwarded client is used and nothing is reported."""
    with in_memory_telemetry(trusted_proxies="10.0.0.0/8"), capture_security_events() as events:
        ctx = start_request(method="GET", path="/", peer="10.0.0.2", x_forwarded_for="198.51.100.7")
    assert ctx.client_address == "198.51.100.7"
    assert ctx.peer_address == "10.0.0.2"
    assert events == []


def test_a_forged_header_does_not_hide_a_later_403(telemetry: Telemetry) -> None:
    """The forwarding-header remark is not an explanation: the 403 is still authz_fail."""
    with capture_security_events() as events:
        ctx = start_request(
            method="GET", path="/admin", peer="203.0.113.8", x_forwarded_for="1.2.3.4"
        )
        finish_request(ctx, 403)
    assert events.types == ["malicious_extraneous", "authz_fail"]


def test_a_server_resolved_client_is_neither_reported_nor_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """uvicorn behind nginx put the client in the peer and kept X-Forwarded-For: all quiet."""
    with (
        in_memory_telemetry(),
        capture_security_events() as events,
        caplog.at_level(logging.WARNING, logger="seclog"),
    ):
        ctx = start_request(
            method="GET", path="/", peer="198.51.100.7", x_forwarded_for="198.51.100.7"
        )
    assert ctx.client_address == "198.51.100.7"
    assert events == []
    assert not [r for r in caplog.records if "trusted proxy" in r.getMessage()]


def test_the_configured_other_header_is_passed_as_forwarding() -> None:
    """With forwarded_header=X-Real-IP, adapters pass its value as ``forwarding``."""
    with (
        in_memory_telemetry(trusted_proxies="10.0.0.0/8", forwarded_header="X-Real-IP"),
        capture_security_events() as events,
    ):
        ctx = start_request(
            method="GET",
            path="/",
            peer="10.0.0.2",
            x_forwarded_for="6.6.6.6",
            forwarding="198.51.100.7",
        )
    assert ctx.client_address == "198.51.100.7"
    assert events == []


def test_a_unix_socket_proxy_named_in_settings_speaks_for_the_client() -> None:
    """nginx over a unix socket (no peer address) with trusted_proxies=unix gives the client."""
    with in_memory_telemetry(trusted_proxies="unix"), capture_security_events() as events:
        ctx = start_request(method="GET", path="/", peer="", x_forwarded_for="198.51.100.7")
    assert ctx.client_address == "198.51.100.7"
    assert events == []


def _lazy(calls: list[str], **facts: str) -> RequestContext:
    """A context as an adapter binds it: the user agent now, the rest on first use."""

    def load(ctx: RequestContext) -> None:
        calls.append("load")
        describe_request(ctx, **facts)  # type: ignore[arg-type]

    return RequestContext(user_agent="probe/1", load=load)


def test_facts_left_for_first_use_are_read_once_by_whoever_reads_the_context() -> None:
    """A bound context's deferred facts are there for anyone who asks, read only once."""
    calls: list[str] = []
    ctx = _lazy(calls, method="GET", path="/a", peer="192.0.2.4", user_agent="probe/1")
    with in_memory_telemetry(), request_context(ctx), capture_security_events() as events:
        assert calls == []
        found = current_request_context()
        assert found is ctx and calls == ["load"]
        assert (ctx.client_address, ctx.method, ctx.path) == ("192.0.2.4", "GET", "/a")
        seclog.emit("authz_fail", resource="x")
        finish_request(ctx, 403)
    assert calls == ["load"]
    assert events[0].attributes["client.address"] == "192.0.2.4"
    assert events[0].attributes["url.path"] == "/a"


def test_a_request_no_one_reads_never_reads_its_facts() -> None:
    """A 200 with no event costs no parsing: the deferred facts are never read."""
    calls: list[str] = []
    ctx = _lazy(calls, method="GET", path="/a", peer="192.0.2.4")
    with in_memory_telemetry(), request_context(ctx), capture_security_events() as events:
        finish_request(ctx, 200)
    assert calls == [] and events == []
    assert ctx.status_code == 200


def test_a_detached_copy_carries_the_deferred_facts() -> None:
    """The copy seclog's threads get holds every fact, read now if no one had read them."""
    calls: list[str] = []
    ctx = _lazy(calls, method="POST", path="/login", peer="192.0.2.9", user_agent="probe/1")
    copy = detached(ctx)
    assert calls == ["load"]
    assert copy is not None and copy is not ctx
    assert (copy.client_address, copy.method, copy.path) == ("192.0.2.9", "POST", "/login")
    assert copy.user_agent == "probe/1"
    assert copy.refresh is None and copy.load is None


def test_describing_a_request_late_still_reports_a_forged_header_once() -> None:
    """describe_request resolves and reports like start_request, and clips the client's text."""
    with in_memory_telemetry(), capture_security_events() as events:
        ctx = RequestContext()
        describe_request(
            ctx,
            method="GET",
            path="/" + "a" * 5000,
            peer="203.0.113.77",
            x_forwarded_for="1.2.3.4",
            user_agent="u" * 2000,
        )
    assert ctx.client_address == "203.0.113.77"
    assert ctx.path is not None and len(ctx.path) == 2048
    assert ctx.user_agent is not None and len(ctx.user_agent) == 512
    assert events.types == ["malicious_extraneous"]
    assert events[0].attributes["client.address"] == "203.0.113.77"


def test_a_deferred_read_that_emits_reads_the_context_as_it_is() -> None:
    """Describing a request inside its first read (a forged header reported) does not loop."""
    calls: list[str] = []
    ctx = _lazy(calls, method="GET", path="/b", peer="203.0.113.78", x_forwarded_for="1.2.3.4")
    with in_memory_telemetry(), request_context(ctx), capture_security_events() as events:
        seclog.emit("authz_fail", resource="y")
    assert calls == ["load"]
    assert events.types == ["malicious_extraneous", "authz_fail"]
    assert all(e.attributes["client.address"] == "203.0.113.78" for e in events)
