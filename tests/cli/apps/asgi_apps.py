"""ASGI apps for `seclog check`: wrapped, Starlette add_middleware, and unwrapped."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from seclog_asgi import SecurityLoggingMiddleware


async def raw(scope: Any, receive: Any, send: Any) -> None:
    return None


wrapped = SecurityLoggingMiddleware(raw, detectors=False)

starlette_app = Starlette()
starlette_app.add_middleware(SecurityLoggingMiddleware, trusted_proxies=["127.0.0.1"])

unprotected = Starlette(debug=True)
