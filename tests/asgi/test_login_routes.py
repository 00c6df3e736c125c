"""Logins on FastAPI without hand-written code: the OAuth2 password form and login_routes."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware, login_sources
from seclog_asgi._username import MAX_BODY
from seclog_core.testing import CapturedEvents
from tests.asgi._driver import call, http_scope
from tests.asgi._testclient import TestClient
from tests.support.telemetry import Telemetry

PASSWORD = "correct-horse-battery"
seen_bodies: list[str] = []
scheme = OAuth2PasswordBearer(tokenUrl="auth/login")


class Credentials(BaseModel):
    email: str
    password: str


def build_app(**options: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityLoggingMiddleware, **options)

    @app.post("/token")
    async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
        if form.password != PASSWORD:
            raise HTTPException(401, "Incorrect username or password")
        return {"access_token": "t", "token_type": "bearer"}

    @app.post("/api/{tenant}/session")
    async def json_login(credentials: Credentials) -> dict[str, str]:
        if credentials.password != PASSWORD:
            raise HTTPException(400, "LOGIN_BAD_CREDENTIALS")
        return {"ok": "yes"}

    @app.post("/manual")
    async def manual(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> None:
        seclog.login_failed(username=username, reason="locked_out")
        raise HTTPException(403, "locked")

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, str]:
        body = await request.body()
        seen_bodies.append(hashlib.sha256(body).hexdigest())
        return {"sha256": hashlib.sha256(body).hexdigest()}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(
        build_app(login_routes=["/api/{tenant}/session"], login_username_field="email")
    )


def _nothing_carries_the_password(telemetry: Telemetry) -> None:
    for record in telemetry.records():
        assert PASSWORD not in json.dumps(dict(record.attributes or {}), default=str)
        assert PASSWORD not in str(record.body)


def test_an_oauth2_password_form_login_is_reported_with_the_user_name(
    client: TestClient, security_events: CapturedEvents, telemetry: Telemetry
) -> None:
    """A token route taking OAuth2PasswordRequestForm gives authn_login_success/fail on its own."""
    ok = client.post("/token", data={"username": "alice", "password": PASSWORD})
    assert ok.status_code == 200
    bad = client.post(
        "/token", data={"username": "bob", "password": "guess", "grant_type": "password"}
    )
    assert bad.status_code == 401
    success = security_events.one("authn_login_success")
    assert success.attributes["user.name"] == "alice"
    failure = security_events.one("authn_login_fail")
    assert failure.attributes["user.name"] == "bob"
    assert failure.reason == "bad_credentials"
    assert "authn_fail" not in security_events.types  # the 401 is explained, not reported twice
    _nothing_carries_the_password(telemetry)


def test_a_json_login_named_in_login_routes_is_reported(
    client: TestClient, security_events: CapturedEvents, telemetry: Telemetry
) -> None:
    """login_routes with a path template and a configured user-name field cover JSON logins."""
    client.post("/api/acme/session", json={"email": "carol@example.test", "password": "x"})
    client.post("/api/acme/session", json={"email": "carol@example.test", "password": PASSWORD})
    # The detectors see the automatic events as any other: success after a failure.
    assert sorted(security_events.types) == [
        "authn_login_fail",
        "authn_login_success",
        "authn_login_successafterfail",
    ]
    assert security_events[0].attributes["user.name"] == "carol@example.test"
    assert security_events[0].attributes["http.response.status_code"] == 400
    _nothing_carries_the_password(telemetry)


def test_a_login_the_app_reports_itself_is_not_reported_twice(
    security_events: CapturedEvents,
) -> None:
    """The app's own login_failed() wins; neither a second login event nor an authz_fail follows."""
    client = TestClient(build_app())
    assert client.post("/manual", data={"username": "dave", "password": "p"}).status_code == 403
    assert security_events.types == ["authn_login_fail"]
    assert security_events[0].reason == "locked_out"


def test_multipart_logins_are_read_too(client: TestClient, security_events: CapturedEvents) -> None:
    """The OAuth2 form posted as multipart/form-data still yields the user name."""
    files = {"username": (None, "erin"), "password": (None, "nope")}
    assert client.post("/token", files=files).status_code == 401
    assert security_events.one("authn_login_fail").attributes["user.name"] == "erin"


def test_a_non_utf8_user_name_is_reported_replaced_not_crashed(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """Bytes that are not UTF-8 become replacement characters; the request is unaffected."""
    body = b"username=%FF%FEfrank&password=nope"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert client.post("/token", content=body, headers=headers).status_code == 401
    assert security_events.one("authn_login_fail").attributes["user.name"] == "\ufffd\ufffdfrank"


@pytest.mark.anyio
async def test_a_body_sent_in_chunks_reaches_the_app_unchanged(
    telemetry: Telemetry, security_events: CapturedEvents
) -> None:
    """A login body split over many ASGI messages is passed through as sent and still read."""
    app = build_app(login_routes=["/echo"])
    body = b"username=gina&password=" + PASSWORD.encode()
    chunks = [body[i : i + 5] for i in range(0, len(body), 5)]
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    sent = await call(app, http_scope("/echo", method="POST", headers=headers), incoming)
    answer = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    assert security_events.one("authn_login_success").attributes["user.name"] == "gina"
    _nothing_carries_the_password(telemetry)


@pytest.mark.parametrize("name_first", [True, False])
def test_a_huge_login_body_is_passed_through_and_read_only_up_to_the_bound(
    security_events: CapturedEvents, name_first: bool
) -> None:
    """A body far past 64 KiB reaches the app whole; the name is found only within the bound."""
    client = TestClient(build_app(login_routes=["/echo"]))
    padding = b"pad=" + b"x" * (MAX_BODY * 4)
    parts = [b"username=hank", padding] if name_first else [padding, b"username=hank"]
    body = b"&".join(parts)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = client.post("/echo", content=body, headers=headers)
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    event = security_events.one("authn_login_success")
    assert event.attributes.get("user.name") == ("hank" if name_first else None)


@pytest.mark.anyio
async def test_other_routes_get_the_servers_receive_untouched(telemetry: Telemetry) -> None:
    """Uploads to a route that is not a login are streamed as before: no copy, no wrapper."""
    seen: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(receive)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = SecurityLoggingMiddleware(app, login_routes=["/login"])
    received: list[object] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        received.append(message)

    await wrapped(http_scope("/upload", method="POST"), receive, send)
    await wrapped(http_scope("/login", method="POST"), receive, send)
    assert seen[0] is receive
    assert seen[1] is not receive


def test_a_registration_route_taking_json_is_not_taken_for_a_login(
    security_events: CapturedEvents,
) -> None:
    """Only form logins are detected on their own; a JSON body needs login_routes."""
    client = TestClient(build_app())
    client.post("/api/acme/session", json={"email": "ivy@example.test", "password": PASSWORD})
    assert security_events.types == []


def test_a_login_route_of_an_oauth2_bearer_is_detected_whatever_its_body() -> None:
    """The tokenUrl an OAuth2PasswordBearer names is a login route, JSON body or not."""
    app = FastAPI()

    @app.post("/auth/login")
    async def login(credentials: Credentials) -> None: ...

    @app.get("/me")
    async def me(token: Annotated[str, Depends(scheme)]) -> None: ...

    sources = login_sources(app)
    assert [(s.path, s.source) for s in sources] == [
        ("/auth/login", "tokenUrl of an OAuth2PasswordBearer")
    ]


@pytest.mark.anyio
async def test_an_odd_body_from_the_server_reaches_the_app_unchanged(
    telemetry: Telemetry, security_events: CapturedEvents
) -> None:
    """A body seclog cannot copy reaches the app as sent; the login is still reported."""
    received: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        received.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    odd = object()
    incoming = [{"type": "http.request", "body": odd, "more_body": False}]
    wrapped = SecurityLoggingMiddleware(app, login_routes=["/login"])
    await call(wrapped, http_scope("/login", method="POST"), incoming)
    assert received == [odd]
    assert security_events.types == ["authn_login_fail"]
