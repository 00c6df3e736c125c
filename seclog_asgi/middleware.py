"""The pure ASGI middleware: one request context per connection, one status check.

For http and websocket scopes it binds a request context (client address through
trusted proxies, method, user agent, request id; route and user as the framework
learns them), watches ``http.response.start`` for the status, and reports the
outcome through :func:`seclog_core.adapters.finish_request`. Response bodies pass
straight through; lifespan passes through with a flush at shutdown.
"""

from __future__ import annotations

from typing import Any

from seclog_core import RequestContext, bind_request_context, reset_request_context
from seclog_core.adapters import build_pipeline, finish_request, report_failure

from ._lifespan import run_lifespan
from ._scope import auth_middleware_rejected, context_from_scope, refresh_from_scope
from ._types import ASGIApp, Message, Receive, Scope, Send
from ._websocket import WebSocketWatch

__all__ = ["SecurityLoggingMiddleware"]


class SecurityLoggingMiddleware:
    """Security logging for any ASGI app: ``app = SecurityLoggingMiddleware(app, **options)``.

    ``options`` are seclog settings (``trusted_proxies=["10.0.0.0/8"]``, ...), validated
    now: a bad one raises :class:`seclog_core.ConfigError`. With Starlette or FastAPI,
    ``app.add_middleware(SecurityLoggingMiddleware, **options)`` does the same.
    """

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.pipeline = build_pipeline(**options)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                await self._websocket(scope, receive, send)
            elif kind == "lifespan":
                await run_lifespan(self.app, scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # HTTP, inline: this runs on every request, so it costs one frame, not two.
        ctx = context_from_scope(scope, self.pipeline)
        status: int | None = None

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
            if status is not None and status < 400:
                finish_request(ctx, status)  # the common case: nothing more to look at
            else:
                self._finish(scope, ctx, status, None)
        finally:
            reset_request_context(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = context_from_scope(scope, self.pipeline)
        watch = WebSocketWatch(scope, ctx, self.pipeline)

        async def send_watching_handshake(message: Message) -> None:
            try:
                watch.observe(message)
            except Exception as exc:
                report_failure("asgi.websocket", exc)
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

    def _finish(
        self, scope: Scope, ctx: RequestContext, status: int | None, exception: Exception | None
    ) -> None:
        """Report the outcome; never raises (the app's own exception is re-raised by the caller)."""
        try:
            if exception is not None or (status is not None and status >= 400):
                refresh_from_scope(scope, ctx)  # only where an event may follow
            if (
                exception is None
                and status == 400
                and scope["type"] == "http"
                and auth_middleware_rejected(scope)
            ):
                self.pipeline.emit(
                    "authn_fail",
                    {"http.response.status_code": 400, "security.reason": "authentication_error"},
                    context=ctx,
                )
        except Exception as exc:
            report_failure("asgi.finish", exc)
        finish_request(ctx, status, exception=exception)
