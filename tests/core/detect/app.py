"""A tiny login app behind seclog's ASGI middleware, driven in-process request by request."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PAGES = {"/", "/about", "/login"}


async def _login_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """GET /login?user=..&password=.. (password "right" succeeds), /admin/* 403, /boom 500."""
    path = scope["path"]
    query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    if path == "/login":
        if query.get("password") == "right":
            seclog.login_succeeded(username=query.get("user"))
            status = 200
        else:
            seclog.login_failed(username=query.get("user"), reason="bad_credentials")
            status = 401
    elif path.startswith("/admin"):
        status = 403
    elif path == "/boom":
        status = 500
    else:
        status = 200 if path in PAGES else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


class App:
    """The login app with seclog settings ``options``; ``get`` sends one request."""

    def __init__(self, **options: Any) -> None:
        self.asgi = SecurityLoggingMiddleware(_login_app, **options)
        self.pipeline = self.asgi.pipeline
        self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        self._loop.close()

    def get(self, path: str, *, client: str = "203.0.113.9", user_agent: str = BROWSER) -> int:
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"shop.test"), (b"user-agent", user_agent.encode())],
            "client": (client, 40000),
            "server": ("127.0.0.1", 8000),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        self._loop.run_until_complete(self.asgi(scope, receive, send))
        return int(sent[0]["status"])

    def login(self, user: str, password: str = "wrong", **kwargs: Any) -> int:
        return self.get(f"/login?user={user}&password={password}", **kwargs)
