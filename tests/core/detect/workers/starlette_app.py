"""A Starlette login app for ``uvicorn --workers 3``: each response names its worker."""

from __future__ import annotations

import os
import time

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware


async def index(_request: Request) -> PlainTextResponse:
    time.sleep(0.05)  # blocks a while, so concurrent probes find every worker
    return PlainTextResponse(str(os.getpid()))


async def login(request: Request) -> PlainTextResponse:
    user = request.query_params.get("user", "")
    if request.query_params.get("password") == "right":
        seclog.login_succeeded(username=user)
        return PlainTextResponse(str(os.getpid()))
    time.sleep(0.05)  # checking a password blocks a while: the next request meets another worker
    seclog.login_failed(username=user, reason="bad_credentials")
    return PlainTextResponse(str(os.getpid()), status_code=401)


app = Starlette(
    routes=[Route("/", index), Route("/login", login)],
    middleware=[Middleware(SecurityLoggingMiddleware)],
)
