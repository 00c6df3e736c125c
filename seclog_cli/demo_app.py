"""The demo's web app: a few lines of raw ASGI, with the security events seclog sees.

``/login`` checks a form and reports the outcome through the manual API,
``/admin`` answers 403, ``/crash`` raises an exception whose message carries a
database URL with its password and an API key. ``build_app`` wraps it in
:class:`seclog_asgi.SecurityLoggingMiddleware`, exactly as a user would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import seclog_core as seclog

__all__ = ["DEMO_PASSWORD", "app", "build_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEMO_USER = "alice"
DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - the demo's well-known password


async def _read_form(receive: Receive) -> dict[str, str]:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


async def _respond(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The unprotected app: what a developer writes before adding seclog."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/login" and scope["method"] == "POST":
        form = await _read_form(receive)
        username = form.get("username", "")
        if username == DEMO_USER and form.get("password") == DEMO_PASSWORD:
            seclog.login_succeeded(username=username)
            await _respond(send, 200, "welcome")
        else:
            seclog.login_failed(username=username, reason="bad_credentials")
            await _respond(send, 401, "invalid credentials")
    elif path == "/admin":
        await _respond(send, 403, "forbidden")
    elif path == "/crash":
        raise RuntimeError(
            "payment backend unreachable: "
            "postgresql://shop:S3cr3t-Passw0rd@db.internal:5432/payments "
            "api_key=sk_live_51HqLyjWDarjtT1zdp7dc"
        )
    else:
        await _respond(send, 200, "hello")


def build_app(**options: Any) -> Any:
    """The demo app wrapped in seclog's ASGI middleware (``options`` are seclog settings)."""
    from seclog_asgi import SecurityLoggingMiddleware  # the core never imports it at import time

    return SecurityLoggingMiddleware(app, **options)
