"""The documented ways to install the middleware type-check (run mypy --strict on this file)."""

from __future__ import annotations

from fastapi import FastAPI
from quart import Quart
from starlette.applications import Starlette

from seclog_asgi import LoginRoute, SecurityLoggingMiddleware, login_sources

starlette_app = Starlette()
starlette_app.add_middleware(SecurityLoggingMiddleware, trusted_proxies=["10.0.0.0/8"])

fastapi_app = FastAPI()
fastapi_app.add_middleware(SecurityLoggingMiddleware)

quart_app = Quart(__name__)
quart_app.asgi_app = SecurityLoggingMiddleware(quart_app.asgi_app)  # type: ignore[method-assign]

wrapped: SecurityLoggingMiddleware = SecurityLoggingMiddleware(Starlette(), trusted_proxy_count=1)

login_app = FastAPI()
login_app.add_middleware(
    SecurityLoggingMiddleware, login_routes=["/api/session"], login_username_field="email"
)
sources: list[LoginRoute] = login_sources(login_app)
paths: list[str] = [source.path for source in sources]
