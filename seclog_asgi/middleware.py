"""The pure ASGI middleware: one request context per connection, one status check.

For http and websocket scopes it binds a request context (client address through
trusted proxies, method, user agent, request id; route and user as the framework
learns them), watches ``http.response.start`` for the status, and reports the
outcome through :func:`seclog_core.adapters.finish_request`. Response bodies pass
straight through; a login route's request body is copied (bounded) as the app
reads it. Lifespan passes through with a flush at shutdown.
"""

from __future__ import annotations

from typing import Any

from seclog_core import ConfigError, RequestContext, bind_request_context, reset_request_context
from seclog_core.adapters import (
    Pipeline,
    attach_server_log_scrubbing,
    build_pipeline,
    finish_request,
    guarded,
    report_failure,
)

from ._broken import Refusal, built_lazily
from ._lifespan import flush_at_exit, run_lifespan, warm_up
from ._login import LoginRoutes, LoginWatch, find_login_routes
from ._outcome import classify
from ._scope import (
    auth_middleware_rejected,
    context_from_scope,
    refresh_from_scope,
    release_scope,
    wanted_headers,
)
from ._types import ASGIApp, Message, Receive, Scope, Send
from ._websocket import WebSocketWatch

__all__ = ["SecurityLoggingMiddleware"]


class SecurityLoggingMiddleware:
    """Security logging for any ASGI app: ``app = SecurityLoggingMiddleware(app, **options)``.

    ``options`` are seclog settings (``trusted_proxies=["10.0.0.0/8"]``, ...), validated
    now: a bad one raises :class:`seclog_core.ConfigError`. With Starlette or FastAPI,
    ``app.add_middleware(SecurityLoggingMiddleware, **options)`` builds it at the first
    ASGI call; a bad setting then fails the lifespan start-up (the server exits with the
    message) or, on a server without lifespan, is logged once and every request gets 500.
    """

    pipeline: Pipeline

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self._refusal: Refusal | None = None
        self._logins: LoginRoutes | None = None
        self._wanted: frozenset[bytes] = frozenset()
        try:
            self.pipeline = build_pipeline(**options)
        except ConfigError as exc:
            if not built_lazily():
                raise
            self._refusal = Refusal(exc)
            return
        # The headers a request context reads, the operator's forwarding one among them.
        self._wanted = wanted_headers(self.pipeline.settings.forwarded_header)
        lazily = built_lazily()
        if not lazily:  # at import, off any request: build the providers now
            warm_up(self.pipeline)
        flush_at_exit()
        with guarded("asgi.start.server_logs"):  # uvicorn.error & co. print crashes scrubbed
            attach_server_log_scrubbing(self.pipeline)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if self._refusal is not None:
            await self._refusal(scope, receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await self._websocket(scope, receive, send)
            elif kind == "lifespan":
                await run_lifespan(self.app, scope, receive, send, self.pipeline)
            else:
                await self.app(scope, receive, send)
            return
        # HTTP, inline: this runs on every request, so it costs one frame, not two.
        ctx = context_from_scope(scope, self.pipeline, self._wanted)
        status: int | None = None
        login: LoginWatch | None = None
        if scope.get("method") == "POST":
            login = self._login_watch(scope, receive)
            if login is not None:
                receive = login.tee

        async def send_watching_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = bind_request_context(ctx)
        try:
            await self.app(scope, receive, send_watching_status)
        except BaseException as exc:
            if isinstance(exc, Exception):
                self._finish(scope, ctx, status, exc)
            raise
        else:
            if login is not None:
                with guarded("asgi.login"):
                    login.report(ctx, status, self.pipeline)
            if status is not None and status < 400:
                finish_request(ctx, status)  # the common case: nothing more to look at
            else:
                self._finish(scope, ctx, status, None)
        finally:
            reset_request_context(token)
            release_scope(ctx)

    def _login_watch(self, scope: Scope, receive: Receive) -> LoginWatch | None:
        """A watch over this request's body when it goes to a login route; never raises."""
        try:  # a plain try, not guarded(): this runs on every POST
            app = scope.get("app") or self.app
            logins = self._logins
            if logins is None or logins.app is not app:
                settings = self.pipeline.settings
                routes = find_login_routes(
                    app, settings.login_routes, settings.login_username_field
                )
                logins = self._logins = LoginRoutes(app, routes)
            if not logins.routes:
                return None
            route = logins.match(scope)
            return None if route is None else LoginWatch(scope, receive, route.username_field)
        except Exception as exc:
            report_failure("asgi.login_routes", exc)
            return None

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = context_from_scope(scope, self.pipeline, self._wanted)
        watch = WebSocketWatch(scope, ctx, self.pipeline)

        async def send_watching_handshake(message: Message) -> None:
            with guarded("asgi.websocket"):
                watch.observe(message)
            await send(message)

        token = bind_request_context(ctx)
        try:
            await self.app(scope, receive, send_watching_handshake)
        except BaseException as exc:
            if isinstance(exc, Exception):
                self._finish(scope, ctx, watch.status, exc)
            raise
        else:
            self._finish(scope, ctx, watch.status, None)
        finally:
            reset_request_context(token)
            release_scope(ctx)

    def _finish(
        self, scope: Scope, ctx: RequestContext, status: int | None, exception: Exception | None
    ) -> None:
        """Report the outcome; never raises (the app's own exception is re-raised by the caller)."""
        with guarded("asgi.finish"):
            if exception is not None or (status is not None and status >= 400):
                refresh_from_scope(scope, ctx)  # only where an event may follow
            if exception is not None:
                meaning = classify(exception)
                if meaning == "client_left":
                    return  # the client went away: nothing the server did wrong
                if meaning == "request_invalid":
                    self.pipeline.emit(
                        "input_validation_fail",
                        {"security.reason": "request_validation"},
                        exception=exception,
                        context=ctx,
                    )
                    return
            elif status is None and scope["type"] == "http":
                # The app returned without answering: the server sends 500 for it.
                self.pipeline.emit(
                    "sys_error",
                    {"http.response.status_code": 500, "security.reason": "no_response"},
                    context=ctx,
                )
                status = 500
            elif (
                status == 400
                and scope["type"] == "http"
                and "authn_login_fail" not in ctx.emitted
                and auth_middleware_rejected(scope)
            ):
                self.pipeline.emit(
                    "authn_fail",
                    {"http.response.status_code": 400, "security.reason": "authentication_error"},
                    context=ctx,
                )
        finish_request(ctx, status, exception=exception)
