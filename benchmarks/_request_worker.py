"""One app variant in its own process, timed on demand: the per-request benchmark's worker.

``python -m benchmarks._request_worker FRAMEWORK VARIANT PATH`` builds the app
(bare, seclog, otel, sentry or axes: peers patch frameworks process-wide, so
each variant lives alone), then answers each line "N" on stdin with the
nanoseconds N requests took, calling the app directly (WSGI callable or raw
ASGI call), so no HTTP client dominates the timing.

``... FRAMEWORK VARIANT PATH --profile N`` instead profiles N requests with
cProfile and prints the functions by cumulative time, then the time the
request thread and seclog's own threads spent on the CPU per request (a
thread that runs per event competes with the request for the GIL).
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable
from typing import Any

# Unique users and client addresses: an ordinary request stream, no detector
# threshold or flood window reached, the same sequence for every variant.
_counter = [0]


def _next() -> tuple[str, str]:
    n = _counter[0] = _counter[0] + 1
    return f"user{n}", f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _providers(variant: str) -> None:
    """The app runs the OpenTelemetry SDK, exporting into nothing, for seclog and otel."""
    from opentelemetry import metrics, trace

    from benchmarks._otel import discarding_providers
    from seclog_core import export

    providers = discarding_providers()
    if variant == "otel":
        trace.set_tracer_provider(providers.tracer_provider)
        metrics.set_meter_provider(providers.meter_provider)
    if variant == "seclog":
        export.set_providers(
            export.Providers(
                providers.logger_provider, providers.tracer_provider, providers.meter_provider, ()
            )
        )


def _sentry() -> None:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class Drop(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            return None

    sentry_sdk.init(dsn="https://public@127.0.0.1/1", transport=Drop, traces_sample_rate=1.0)


# --- WSGI ---------------------------------------------------------------------------


def _environ(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    _, client = _next()
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    return None


def _wsgi_runner(app: Any, method: str, path: str, body: Callable[[], bytes]) -> Callable[[], None]:
    def one() -> None:
        result = app(_environ(method, path, body()), _start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    return one


def _django(variant: str, path: str) -> Callable[[], None]:
    import django
    from django.conf import settings

    apps = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]
    middleware = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    backends = ["django.contrib.auth.backends.ModelBackend"]
    if variant == "seclog":
        apps.append("seclog_django")
        middleware.append("seclog_django.middleware.SecurityLoggingMiddleware")
    if variant == "axes":
        apps.append("axes")
        middleware.append("axes.middleware.AxesMiddleware")
        backends.insert(0, "axes.backends.AxesStandaloneBackend")
    settings.configure(
        SECRET_KEY="benchmark-only",
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="benchmarks._django_urls",
        INSTALLED_APPS=apps,
        MIDDLEWARE=middleware,
        AUTHENTICATION_BACKENDS=backends,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        AXES_FAILURE_LIMIT=10**9,  # measure counting failures, not the lockout page
        AXES_LOCKOUT_PARAMETERS=["username"],
        LOGGING_CONFIG=None,
        SECLOG={"local_sink": "none"},
    )
    if variant == "otel":
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth.models import User

    User.objects.create_user("alice", password="right")
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    if path == "login_fail":
        return _wsgi_runner(
            app, "POST", "/login/", lambda: f"username={_next()[0]}&password=wrong".encode()
        )
    return _wsgi_runner(app, "GET", "/forbidden/" if path == "forbidden" else "/ok/", bytes)


def _flask(variant: str, path: str) -> Callable[[], None]:
    from flask import Flask, abort

    app = Flask("bench")

    @app.get("/ok")
    def ok() -> str:
        return "ok"

    @app.get("/forbidden")
    def forbidden() -> str:
        abort(403)

    if variant == "seclog":
        from seclog_flask import SecLog

        app.config["SECLOG_LOCAL_SINK"] = "none"
        SecLog(app)
    if variant == "otel":
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app)  # type: ignore[no-untyped-call]
    return _wsgi_runner(app, "GET", "/forbidden" if path == "forbidden" else "/ok", bytes)


# --- ASGI ---------------------------------------------------------------------------


def _asgi_app(framework: str, variant: str) -> Any:
    if framework == "fastapi":
        from fastapi import FastAPI, HTTPException

        api = FastAPI()

        @api.get("/ok")
        async def ok() -> dict[str, str]:
            return {"ok": "yes"}

        @api.get("/forbidden")
        async def forbidden() -> None:
            raise HTTPException(status_code=403)

        app: Any = api
        if variant == "otel":
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            FastAPIInstrumentor.instrument_app(api)
    else:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException as StarletteHTTPException
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def ok_view(request: Any) -> PlainTextResponse:
            return PlainTextResponse("ok")

        async def forbidden_view(request: Any) -> PlainTextResponse:
            raise StarletteHTTPException(status_code=403)

        app = Starlette(routes=[Route("/ok", ok_view), Route("/forbidden", forbidden_view)])
        if variant == "otel":
            from opentelemetry.instrumentation.starlette import StarletteInstrumentor

            StarletteInstrumentor.instrument_app(app)
    if variant == "seclog":
        from seclog_asgi import SecurityLoggingMiddleware

        app.add_middleware(SecurityLoggingMiddleware)
    return app


def _asgi(framework: str, variant: str, path: str) -> Callable[[int], int]:
    app = _asgi_app(framework, variant)
    target = "/forbidden" if path == "forbidden" else "/ok"
    loop = asyncio.new_event_loop()
    message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: dict[str, Any]) -> None:
        return None

    async def batch(count: int) -> int:
        start = time.perf_counter_ns()
        for _ in range(count):
            _, client = _next()
            scope = {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": target,
                "raw_path": target.encode(),
                "root_path": "",
                "query_string": b"",
                "headers": [
                    (b"host", b"127.0.0.1"),
                    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128"),
                ],
                "client": (client, 50000),
                "server": ("127.0.0.1", 8000),
                "state": {},
            }
            await app(scope, receive, send)
        return time.perf_counter_ns() - start

    return lambda count: loop.run_until_complete(batch(count))


def _with_seclogs_threads(timed: Callable[[int], int]) -> Callable[[int], int]:
    """A batch timed until seclog's threads handled what it queued (its events, spans,
    records and detection): their work counts, whether it ran during the batch or after
    it gathered. The peers do the same work on the request thread."""
    from seclog_core.pipeline import settle

    def with_threads(count: int) -> int:
        start = time.perf_counter_ns()
        timed(count)
        settle(60)
        return time.perf_counter_ns() - start

    return with_threads


def _profile(timed: Callable[[int], int], count: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(timed, count)
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(60)
    thread_start, all_start = time.thread_time_ns(), time.process_time_ns()
    elapsed = timed(count)
    on_thread = time.thread_time_ns() - thread_start
    others = time.process_time_ns() - all_start - on_thread
    print(
        f"per request, unprofiled: {elapsed / count / 1000:.1f} µs wall, "
        f"{on_thread / count / 1000:.1f} µs CPU on the request thread, "
        f"{others / count / 1000:.1f} µs CPU on other threads"
    )


def main(argv: list[str]) -> int:
    profile = 0
    if "--profile" in argv:
        at = argv.index("--profile")
        profile = int(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    framework, variant, path = argv
    if variant in ("seclog", "otel"):
        _providers(variant)
    if variant == "sentry":
        _sentry()
    timed: Callable[[int], int]
    if framework in ("django", "flask"):
        one = (_django if framework == "django" else _flask)(variant, path)

        def timed(count: int) -> int:
            start = time.perf_counter_ns()
            for _ in range(count):
                one()
            return time.perf_counter_ns() - start

    else:
        timed = _asgi(framework, variant, path)
    if variant == "seclog":
        timed = _with_seclogs_threads(timed)
    timed(20)  # warm up: first-request imports and caches
    if profile:
        timed(profile)
        _profile(timed, profile)
        return 0
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        print(timed(int(command)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
