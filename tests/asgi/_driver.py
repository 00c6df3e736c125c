"""Drive an ASGI app by hand: a scope, the messages it receives, the messages it sends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Message = dict[str, Any]


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    client: tuple[str, int] | None = ("203.0.113.9", 51000),
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"example.test:8000"), *headers],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }


def websocket_scope(path: str = "/ws", **kwargs: Any) -> dict[str, Any]:
    scope = http_scope(path, **kwargs)
    scope.update(type="websocket", scheme="ws", subprotocols=[])
    del scope["method"]
    return scope


async def call(app: Any, scope: dict[str, Any], incoming: Iterable[Message] = ()) -> list[Message]:
    """Run one ASGI call; returns what the app sent."""
    inbox = list(incoming) or [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def respond(status: int, body: bytes = b"") -> Any:
    """A raw ASGI app answering ``status``."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app
