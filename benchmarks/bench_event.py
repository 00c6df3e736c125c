"""One security event through the whole seclog pipeline vs the plain SDK floor.

The floor is what seclog builds on: ``Logger.emit`` of a LogRecord plus
``span.add_event`` with the same attributes on a recording span. seclog adds
context enrichment, redaction of every attribute, the integrity sequence, the
counter and the detectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry import context as otel_context
from opentelemetry._logs import SeverityNumber

from seclog_core import RequestContext, bind_request_context, reset_request_context
from seclog_core.pipeline import Pipeline, new_pipeline

from ._harness import Row, Settings, interleave
from ._otel import discarding_providers, seclog_pipeline

__all__ = ["TARGET", "run"]

TARGET = 1.5  # seclog's event may cost at most 1.5x the floor

# A failing login as an adapter reports it: a dozen attributes once enriched.
FIELDS = {
    "user.name": "alice@example.com",
    "security.reason": "bad_password",
    "auth.method": "password",
    "auth.backend": "django.contrib.auth.backends.ModelBackend",
}


def _context() -> RequestContext:
    return RequestContext(
        client_address="203.0.113.7",
        peer_address="10.0.0.2",
        method="POST",
        path="/accounts/login/",
        route="accounts/login/",
        scheme="https",
        server_address="shop.example.com",
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        request_id="5f0c6a1e-4a59-4a4e-9d3c-1b1f3f0f3b2a",
    )


def _floor_attributes() -> dict[str, object]:
    attrs: dict[str, object] = dict(_context().attributes())
    attrs.update(FIELDS)
    attrs.update(
        {
            "security.event": "authn_login_fail",
            "security.outcome": "failure",
            "security.level": "WARN",
        }
    )
    return attrs


def run(settings: Settings) -> list[Row]:
    providers = discarding_providers()
    try:
        with seclog_pipeline(providers) as pipe:
            return _measure(settings, pipe, providers)
    finally:
        providers.shutdown()


def _measure(settings: Settings, pipe: object, providers: object) -> list[Row]:
    assert isinstance(pipe, Pipeline)
    sdk_logger = providers.logger_provider.get_logger("floor")  # type: ignore[attr-defined]
    tracer = providers.tracer_provider.get_tracer("bench")  # type: ignore[attr-defined]
    attrs = _floor_attributes()
    ctx = _context()
    counter = [0]

    def floor() -> None:
        now = time.time_ns()
        attributes = dict(attrs)
        sdk_logger.emit(
            timestamp=now,
            observed_timestamp=now,
            context=otel_context.get_current(),
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="Failed login",
            attributes=attributes,
            event_name="security.authn_login_fail",
        )
        span.add_event("security.authn_login_fail", attributes, now)

    bare_pipe = new_pipeline(detectors=False, flood_limit=0)

    def emitter(target: Pipeline) -> Callable[[], None]:
        def emit() -> None:
            # A new user and client each time: an ordinary event that no flood gate
            # or detector threshold stops, while the detectors still count it.
            n = counter[0] = counter[0] + 1
            fields = dict(FIELDS)
            fields["user.name"] = f"user{n}@example.com"
            ctx.client_address = f"198.51.{(n >> 8) & 255}.{n & 255}"
            ctx.emitted.clear()
            target.emit("authn_login_fail", fields, context=ctx)

        return emit

    token = bind_request_context(ctx)
    try:
        with tracer.start_as_current_span("request") as span:
            timings = interleave(
                {
                    "sdk floor": floor,
                    "seclog": emitter(pipe),
                    "seclog, no detectors": emitter(bare_pipe),
                },
                rounds=settings.rounds(60, 12),
                inner=settings.rounds(200, 100),
            )
    finally:
        reset_request_context(token)
    floor_us = timings.median("sdk floor")
    rows = [Row("event", "one authn_login_fail", "sdk floor", floor_us, "µs/event", "1.00x")]
    for name, note in (
        ("seclog", f"{len(attrs)} attributes, detectors + flood control on"),
        ("seclog, no detectors", "detectors and flood control off"),
    ):
        ratio = (floor_us + timings.median_diff(name, "sdk floor")) / floor_us
        verdict = "met" if ratio <= TARGET else "NOT MET"
        rows.append(
            Row(
                "event",
                "one authn_login_fail",
                name,
                timings.median(name),
                "µs/event",
                f"{ratio:.2f}x",
                f"<= {TARGET:.1f}x floor" if name == "seclog" else "",
                verdict if name == "seclog" else "",
                note,
            )
        )
    return rows
