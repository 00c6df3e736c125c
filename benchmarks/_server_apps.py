"""The apps the server benchmark serves; ``BENCH_VARIANT`` (bare, seclog, otel) picks the setup."""

from __future__ import annotations

import os
from typing import Any

VARIANT = os.environ.get("BENCH_VARIANT", "bare")


def _otel_providers() -> None:
    from opentelemetry import metrics, trace

    from benchmarks._otel import discarding_providers

    providers = discarding_providers()
    trace.set_tracer_provider(providers.tracer_provider)
    metrics.set_meter_provider(providers.meter_provider)


def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/ok", ok)])
    if VARIANT == "seclog":
        from seclog_asgi import SecurityLoggingMiddleware

        app.add_middleware(SecurityLoggingMiddleware)
    elif VARIANT == "otel":
        from opentelemetry.instrumentation.starlette import StarletteInstrumentor

        _otel_providers()
        StarletteInstrumentor.instrument_app(app)
    return app


def _flask() -> Any:
    from flask import Flask

    app = Flask("bench")

    @app.get("/ok")
    def ok() -> str:
        return "ok"

    if VARIANT == "seclog":
        from seclog_flask import SecLog

        SecLog(app)
    elif VARIANT == "otel":
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        _otel_providers()
        FlaskInstrumentor().instrument_app(app)  # type: ignore[no-untyped-call]
    return app


def __getattr__(name: str) -> Any:
    # Built on first access, so each server process builds only the app it serves.
    if name == "starlette_app":
        return _starlette()
    if name == "flask_app":
        return _flask()
    raise AttributeError(name)
