"""A middleware whose settings are invalid, built lazily by the framework: fail closed.

Starlette and FastAPI build ``add_middleware`` classes at the first ASGI call, so
a :class:`~seclog_core.ConfigError` raised there would reach uvicorn as "lifespan
unsupported" and then a 500 per request. Instead the lifespan startup is answered
with ``lifespan.startup.failed`` carrying the message (the server exits at start-up);
a server without lifespan gets the message once, loudly, and every request a 500:
an app that cannot log its security events must not serve as if it could.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType

from seclog_core.adapters import logger

from ._types import Receive, Scope, Send

__all__ = ["Refusal", "built_lazily"]

_BUILDERS = frozenset(("build_middleware_stack",))
_lock = threading.Lock()
_BODY = b"Internal Server Error: security logging is misconfigured\n"


def built_lazily() -> bool:
    """True when the caller's constructor runs inside a framework's deferred build.

    Starlette's and FastAPI's ``build_middleware_stack`` call ``cls(app, **options)``
    at the first request; only the frame name tells that apart from a direct wrap.
    """
    # Frame 0 is this function, 1 the middleware's __init__, 2 whoever constructs it.
    try:
        frame: FrameType | None = sys._getframe(2)
    except (AttributeError, ValueError):  # an interpreter without frames: assume a direct wrap
        return False
    for _ in range(3):  # a subclass's __init__ may sit in between
        if frame is None:
            return False
        if frame.f_code.co_name in _BUILDERS:
            return True
        frame = frame.f_back
    return False


class Refusal:
    """Answers every ASGI call of one middleware that could not be configured."""

    __slots__ = ("error", "said")

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.said = False

    def say_once(self) -> None:
        with _lock:
            if self.said:
                return
            self.said = True
        logger.error(
            "seclog: invalid settings, every request is answered 500 until they are fixed: %s",
            self.error,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            message = await receive()
            if message.get("type") == "lifespan.startup":
                await send({"type": "lifespan.startup.failed", "message": str(self.error)})
            else:
                await send({"type": "lifespan.shutdown.complete"})
            return
        self.say_once()
        if kind == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _BODY})
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1011})
