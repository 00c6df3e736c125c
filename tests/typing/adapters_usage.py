"""Type-checked (mypy --strict), never run: the README's documented adapter usage."""

from __future__ import annotations

from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette

from seclog_asgi import SecurityLoggingMiddleware
from seclog_flask import SecLog


def flask_direct() -> Flask:
    app = Flask(__name__)
    SecLog(app)
    return app


seclog_ext = SecLog()


def flask_factory() -> Flask:
    app = Flask(__name__)
    seclog_ext.init_app(app)
    return app


def starlette_app() -> Starlette:
    app = Starlette()
    app.add_middleware(SecurityLoggingMiddleware)
    return app


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityLoggingMiddleware, trusted_proxies=["10.0.0.0/8"])
    return app


def any_asgi(app: Starlette) -> SecurityLoggingMiddleware:
    return SecurityLoggingMiddleware(app)
