"""seclog never blocks the event loop: every hook runs under a blocking-call detector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from blockbuster import BlockBuster
from fastapi import Depends, FastAPI, HTTPException, WebSocket
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from starlette.websockets import WebSocketDisconnect

from seclog_asgi import SecurityLoggingMiddleware
from seclog_core import failure_counts
from seclog_core.testing import CapturedEvents
from tests.asgi._testclient import TestClient

oauth2 = OAuth2PasswordBearer(tokenUrl="token")


def build_app() -> FastAPI:
    app = FastAPI()
    # Host-shared detector state opens a SQLite file: that is the detectors' own
    # start-up question; this test is about what the middleware does on the loop.
    app.add_middleware(SecurityLoggingMiddleware, detector_state="process", flood_limit=3)

    @app.post("/token")
    async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
        raise HTTPException(401, "no")

    @app.get("/me")
    async def me(token: Annotated[str, Depends(oauth2)]) -> None: ...

    @app.get("/admin")
    async def admin() -> None:
        raise HTTPException(403, "no")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    return app


@pytest.fixture
def detector() -> Iterator[None]:
    """BlockBuster, as Starlette's own suite uses it, watching seclog's modules."""
    buster = BlockBuster(["seclog_core", "seclog_asgi"])
    buster.functions["io.BufferedReader.read"].can_block_in("/starlette/testclient.py", "receive")
    buster.activate()
    try:
        yield
    finally:
        buster.deactivate()


def test_the_middleware_never_blocks_the_loop(
    security_events: CapturedEvents, detector: None
) -> None:
    """Start-up, logins, denials, crashes, a flood and a WebSocket: no blocking call on the loop."""
    before = failure_counts()
    with TestClient(build_app(), raise_server_exceptions=False) as client:
        for _ in range(5):  # past flood_limit: flood control holds some back
            client.post("/token", data={"username": "mallory", "password": "guess"})
        client.get("/me")
        client.get("/admin")
        client.get("/boom")
        with pytest.raises(WebSocketDisconnect):  # the handshake is refused
            client.websocket_connect("/ws").__enter__()
    assert failure_counts() == before
    assert {"authn_login_fail", "authn_fail", "authz_fail", "sys_error"} <= set(
        security_events.types
    )
