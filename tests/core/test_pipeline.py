"""The pipeline: one event becomes a log record, a span event and a counted metric."""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry import trace

import seclog_core as seclog
from seclog_core import failure_counts
from tests.support.telemetry import Telemetry, in_memory_telemetry


def test_log_record_carries_the_design_fields(telemetry: Telemetry) -> None:
    """event_name, timestamp, severity, body and security.* attributes are set."""
    before = time.time_ns()
    seclog.login_failed(username="bob", reason="bad_credentials")
    record = telemetry.record("security.authn_login_fail")
    assert before <= record.timestamp <= time.time_ns()
    assert record.severity_text == "WARN"
    assert record.severity_number.name == "WARN"
    assert "bad_credentials" in record.body
    attrs = dict(record.attributes)
    assert attrs["user.name"] == "bob"
    assert attrs["security.event"] == "authn_login_fail"
    assert attrs["security.outcome"] == "failure"
    assert attrs["security.reason"] == "bad_credentials"
    assert attrs["security.level"] == "WARN"
    assert attrs["seclog.sequence"] == 1
    assert len(attrs["seclog.stream_id"]) == 16


def test_event_joins_the_active_request_span(telemetry: Telemetry) -> None:
    """Inside a recording span, the record has its ids and the span gets the same event."""
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("GET /admin") as span:
        seclog.access_denied(resource="/admin")
        ids = span.get_span_context()
    record = telemetry.record("security.authz_fail")
    assert record.trace_id == ids.trace_id
    assert record.span_id == ids.span_id
    (finished,) = telemetry.spans.get_finished_spans()
    (span_event,) = finished.events
    assert span_event.name == "security.authz_fail"
    assert span_event.attributes is not None
    assert span_event.attributes["security.resource"] == "/admin"


def test_without_a_span_seclog_starts_a_short_one(telemetry: Telemetry) -> None:
    """Outside any span the event still appears in a trace of its own."""
    seclog.logout(username="alice")
    record = telemetry.record("security.authn_logout")
    (own,) = telemetry.spans.get_finished_spans()
    assert own.name == "security.authn_logout"
    assert record.trace_id == own.context.trace_id
    assert [e.name for e in own.events] == ["security.authn_logout"]


def test_metric_counts_by_type_and_outcome_only(telemetry: Telemetry) -> None:
    """The counter never carries users or addresses (bounded cardinality)."""
    seclog.login_failed(username="a")
    seclog.login_failed(username="b")
    seclog.login_succeeded(username="a")
    points = telemetry.counter_points()
    assert points[(("security.event", "authn_login_fail"), ("security.outcome", "failure"))] == 2
    assert points[(("security.event", "authn_login_success"), ("security.outcome", "success"))] == 1
    assert all(len(key) == 2 for key in points)


def test_request_context_enriches_manual_events(telemetry: Telemetry) -> None:
    """Inside a bound request, the client, route and user fill themselves in."""
    ctx = seclog.RequestContext(
        client_address="198.51.100.7",
        route="/login",
        method="POST",
        user_agent="curl/8",
        request_id="r-1",
    )
    with seclog.request_context(ctx):
        seclog.login_failed(username="bob")
    attrs = dict(telemetry.record("security.authn_login_fail").attributes)
    assert attrs["client.address"] == "198.51.100.7"
    assert attrs["http.route"] == "/login"
    assert attrs["http.request.method"] == "POST"
    assert attrs["user_agent.original"] == "curl/8"
    assert attrs["http.request.id"] == "r-1"


def test_secrets_never_leave(telemetry: Telemetry) -> None:
    """Secret-named fields and secret-shaped values are scrubbed before export."""
    seclog.emit(
        "authn_login_fail",
        username="bob",
        password="hunter2",
        attributes={"http.request.header.authorization": "Bearer abc.def.ghi"},
        message="login with card 4111 1111 1111 1111",
    )
    record = telemetry.record("security.authn_login_fail")
    flat = repr(dict(record.attributes)) + repr(record.body)
    assert "hunter2" not in flat
    assert "abc.def.ghi" not in flat
    assert "4111 1111 1111 1111" not in flat


def test_exception_is_summarized_without_a_traceback(telemetry: Telemetry) -> None:
    """Exceptions become type and scrubbed message, never locals or a stack."""
    try:
        raise RuntimeError("db password=s3cr3t unreachable")
    except RuntimeError as exc:
        seclog.emit("sys_error", exception=exc)
    attrs = dict(telemetry.record("security.sys_error").attributes)
    assert attrs["exception.type"] == "RuntimeError"
    assert "s3cr3t" not in attrs["exception.message"]
    assert "exception.stacktrace" not in attrs


def test_log_injection_cannot_forge_a_second_line(telemetry: Telemetry) -> None:
    """CR/LF in attacker input stays inside one escaped value."""
    seclog.login_failed(username="bob\r\nsecurity.authn_login_success user=admin")
    attrs = dict(telemetry.record("security.authn_login_fail").attributes)
    assert "\n" not in attrs["user.name"] and "\r" not in attrs["user.name"]


def test_ecs_and_ocsf_mappings_on_request() -> None:
    """With ecs/ocsf switched on, SIEM-specific fields are added."""
    with in_memory_telemetry(ecs=True, ocsf=True) as telemetry:
        seclog.login_failed(username="bob")
        attrs = dict(telemetry.record("security.authn_login_fail").attributes)
    assert attrs["event.category"] == ("authentication",)
    assert attrs["event.outcome"] == "failure"
    assert attrs["ocsf.class_uid"] == 3002
    assert attrs["ocsf.status_id"] == 2


def test_integrity_key_adds_a_chained_mac() -> None:
    """With a key, each record carries a MAC that depends on the previous one."""
    with in_memory_telemetry(integrity_key="secret-key" * 4) as telemetry:
        seclog.login_failed(username="a")
        seclog.login_failed(username="a")
        first, second = (dict(r.attributes) for r in telemetry.records())
    assert first["seclog.sequence"] == 1 and second["seclog.sequence"] == 2
    assert len(first["seclog.mac"]) == 64 and first["seclog.mac"] != second["seclog.mac"]
    assert first["seclog.key_id"] == "k1"


def test_pseudonymized_user_names_are_stable_and_unreadable() -> None:
    """A keyed policy lets analysts correlate users without reading the name."""
    with in_memory_telemetry(
        pseudonymize_key="k" * 32, field_policies={"user.name": "pseudonymize"}
    ) as t:
        seclog.login_failed(username="bob")
        seclog.login_failed(username="bob")
        names = [dict(r.attributes)["user.name"] for r in t.records()]
    assert names[0] == names[1] and "bob" not in names[0]


def test_disabled_pipeline_emits_nothing() -> None:
    """`enabled=False` turns seclog into a no-op without touching the app."""
    with in_memory_telemetry(enabled=False) as telemetry:
        assert seclog.login_failed(username="bob") is None
        assert telemetry.records() == []


def test_internal_failure_is_counted_not_raised(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken exporter or observer never raises into the app; it is counted and logged once."""
    pipeline = seclog.get_pipeline()

    def broken(event: object, pipe: object) -> None:
        raise OSError("disk full")

    pipeline.add_observer(broken)
    before = failure_counts().get("pipeline.observer", 0)
    seclog.login_failed(username="a")
    seclog.login_failed(username="b")
    assert failure_counts()["pipeline.observer"] == before + 2
    assert len(telemetry.records()) == 2
    logged = [
        r for r in caplog.records if "internal failure in pipeline.observer" in r.getMessage()
    ]
    assert len(logged) <= 1
    data = telemetry.metrics.get_metrics_data()
    assert data is not None
    failures: list[Any] = [
        point
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "seclog.internal.failures"
        for point in metric.data.data_points
        if dict(point.attributes or {}).get("seclog.where") == "pipeline.observer"
    ]
    assert failures[0].value == before + 2


def test_capture_helper_sees_scrubbed_events(security_events) -> None:  # type: ignore[no-untyped-def]
    """The shipped pytest fixture captures events as they left seclog."""
    with in_memory_telemetry():
        seclog.login_failed(username="bob", password="pw")
    event = security_events.one("authn_login_fail")
    assert event.attributes["user.name"] == "bob"
    assert event.attributes["security.password"] == "[REDACTED]"


def test_tracer_free_mode_still_logs() -> None:
    """span_events=False still emits the log record."""
    with in_memory_telemetry(span_events=False) as telemetry:
        seclog.logout(username="x")
        assert telemetry.record("security.authn_logout")
        assert telemetry.spans.get_finished_spans() == ()
    assert trace.get_current_span().is_recording() is False


def test_events_of_one_request_share_one_trace_and_one_span(telemetry: Telemetry) -> None:
    """Without tracing in the app, a request's events land in one trace, in one span of seclog's."""
    from seclog_core.adapters import finish_request

    with seclog.request_context(client_address="203.0.113.7") as ctx:
        seclog.access_denied(resource="/admin")
        seclog.login_failed(username="mallory")
        finish_request(ctx, 403)
    records = telemetry.records()
    assert len(records) == 2
    assert records[0].trace_id and records[0].trace_id == records[1].trace_id
    (span,) = telemetry.spans.get_finished_spans()
    assert span.context.trace_id == records[0].trace_id
    assert [e.name for e in span.events] == [r.event_name for r in records]


def test_an_alert_shares_the_trace_of_the_event_that_triggered_it() -> None:
    """A detector alert lands in the trace of the failed login that crossed the threshold."""
    with in_memory_telemetry(detector_state="process") as telemetry:
        with seclog.request_context(client_address="203.0.113.8"):
            for _ in range(12):
                seclog.login_failed(username="victim")
        emitted = [seclog.login_failed(username="other") for _ in range(12)]
        assert all(emitted)
        seclog.force_flush(5000)  # the detectors count on their own thread
        records = telemetry.records()
    alerts = [r for r in records if "security_rule.name" in dict(r.attributes)]
    logins = [r for r in records if r.event_name == "security.authn_login_fail"]
    by_user = {
        name: [r for r in logins if dict(r.attributes)["user.name"] == name]
        for name in ("victim", "other")
    }
    in_request = {r.trace_id for r in by_user["victim"]}
    assert len(in_request) == 1 and 0 not in in_request
    victim_alerts = [a for a in alerts if dict(a.attributes).get("user.name") == "victim"]
    other_alerts = [a for a in alerts if dict(a.attributes).get("user.name") == "other"]
    assert victim_alerts and other_alerts, [r.event_name for r in records]
    assert {a.trace_id for a in victim_alerts} == in_request
    # Outside a request each event has a short span; the alert joins one of its triggers'.
    outside = {r.trace_id for r in by_user["other"]}
    assert all(a.trace_id in outside for a in other_alerts)


def test_app_attributes_never_override_seclogs_own_facts(telemetry: Telemetry) -> None:
    """client.address from the request and the integrity attributes cannot be overridden."""
    with seclog.request_context(client_address="203.0.113.9"):
        seclog.emit(
            "authz_fail",
            attributes={
                "client.address": "10.9.9.9",
                "seclog.sequence": 999,
                "seclog.mac": "forged",
                "security.event": "authn_login_success",
            },
        )
    attrs = dict(telemetry.record("security.authz_fail").attributes)
    assert attrs["client.address"] == "203.0.113.9"
    assert attrs["seclog.sequence"] == 1
    assert "seclog.mac" not in attrs
    assert attrs["security.event"] == "authz_fail"


def test_attributes_that_are_not_a_mapping_never_raise(telemetry: Telemetry) -> None:
    """emit(attributes=<a list>) is reported; the event still goes out without them."""
    event = seclog.emit("authz_fail", attributes=[("user.name", "bob")])  # type: ignore[arg-type]
    assert seclog.emit("authz_fail", attributes=5) is not None  # type: ignore[arg-type]
    assert seclog.get_pipeline().emit("authz_fail", 5) is not None  # type: ignore[arg-type]
    assert event is not None
    assert failure_counts().get("pipeline.attributes_not_a_mapping", 0) >= 1
    records = telemetry.records()
    assert len(records) == 3
    assert all("user.name" not in dict(record.attributes) for record in records)


def test_the_one_constructor_builds_a_complete_pipeline(telemetry: Telemetry) -> None:
    """Pipeline(Settings()) has detectors and flood control, like build_pipeline's."""
    from seclog_core.adapters import build_pipeline
    from seclog_core.config import Settings
    from seclog_core.pipeline import Pipeline

    direct, built = Pipeline(Settings()), build_pipeline()
    for pipe in (direct, built):
        assert pipe.gates and pipe.observers and pipe.flushers
        assert {"detectors", "flood_control"} <= set(pipe.state)
        assert pipe.providers is not None
