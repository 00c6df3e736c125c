"""Apps for ``seclog check --asgi``: with no login source, and with each kind of one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.security import OAuth2PasswordRequestForm

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware

bare = FastAPI()
bare.add_middleware(SecurityLoggingMiddleware)


@bare.get("/items")
async def items() -> list[str]:
    return []


oauth_form = FastAPI()
oauth_form.add_middleware(SecurityLoggingMiddleware)


@oauth_form.post("/token")
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
    return {"access_token": form.username}


manual = FastAPI()
manual.add_middleware(SecurityLoggingMiddleware)


@manual.post("/sso/callback")
async def callback() -> None:
    seclog.login_succeeded(username="from-the-idp")


configured = SecurityLoggingMiddleware(FastAPI(), login_routes=["/api/session"])
