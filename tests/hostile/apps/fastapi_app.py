"""The FastAPI scenario app: a cookie session, Starlette authentication, seclog's ASGI middleware.

Serve with ``uvicorn tests.hostile.apps.fastapi_app:app``. FastAPI has no CSRF
protection, so ``POST /csrf-form`` is simply accepted; logins and logouts are
reported through the manual API, as FastAPI has no auth signals.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    UnauthenticatedUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware

from . import PASSWORD, USERNAME, boom_message

SESSIONS: dict[str, str] = {}


class User(BaseUser):
    def __init__(self, user_id: str, username: str) -> None:
        self.user_id = user_id
        self.username = username

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def identity(self) -> str:
        return self.user_id


class SessionBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        user_id = SESSIONS.get(conn.cookies.get("session", ""))
        if user_id is None:
            return None
        return AuthCredentials(["authenticated"]), User(user_id, USERNAME)


app = FastAPI()
app.add_middleware(AuthenticationMiddleware, backend=SessionBackend())
app.add_middleware(SecurityLoggingMiddleware)


def _form(raw: bytes) -> dict[str, str]:
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


@app.get("/", response_class=PlainTextResponse)
async def index() -> str:
    return "ok"


@app.post("/login")
async def login(request: Request) -> PlainTextResponse:
    form = _form(await request.body())
    username = form.get("username", "")
    if username != USERNAME or form.get("password", "") != PASSWORD:
        seclog.login_failed(username=username, reason="bad_credentials")
        return PlainTextResponse("bad credentials", status_code=401)
    seclog.login_succeeded(username=USERNAME, user_id="1")
    token = secrets.token_urlsafe(24)
    SESSIONS[token] = "1"
    response = PlainTextResponse("welcome")
    response.set_cookie("session", token, httponly=True)
    return response


@app.api_route("/logout", methods=["GET", "POST"])
async def logout(request: Request) -> PlainTextResponse:
    if SESSIONS.pop(request.cookies.get("session", ""), None) is not None:
        seclog.logout(username=USERNAME, user_id="1")
    response = PlainTextResponse("bye")
    response.delete_cookie("session")
    return response


@app.get("/private")
async def private(request: Request) -> PlainTextResponse:
    if isinstance(request.user, UnauthenticatedUser):
        return PlainTextResponse("login required", status_code=401)
    return PlainTextResponse("private")


@app.get("/admin")
async def admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("forbidden", status_code=403)


@app.get("/limited")
async def limited() -> PlainTextResponse:
    return PlainTextResponse("slow down", status_code=429)


@app.post("/csrf-form")
async def csrf_form() -> PlainTextResponse:
    return PlainTextResponse("form accepted")


@app.get("/report")
async def report(request: Request) -> PlainTextResponse:
    seclog.emit(
        "input_validation_fail",
        attributes={"request.headers": request.headers, "header.list": [*request.headers.items()]},
    )
    return PlainTextResponse("rejected", status_code=400)


@app.get("/reset/{token}")
async def reset(token: str) -> PlainTextResponse:
    return PlainTextResponse("reset link expired", status_code=401)


@app.api_route("/boom", methods=["GET", "POST"])
async def boom(request: Request) -> PlainTextResponse:
    body = (await request.body()).decode("utf-8", "replace")
    raise RuntimeError(boom_message(request.url.query, body))
