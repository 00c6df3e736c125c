"""What an exception escaping the app means: a client leaving is not a server error.

Recognised by class name along the exception's MRO, so no framework is imported:
a literal table, as the frameworks name them.
"""

from __future__ import annotations

__all__ = ["CLIENT_LEFT", "REQUEST_INVALID", "classify"]

# The client closed the connection: Starlette's WebSocketDisconnect and ClientDisconnect.
CLIENT_LEFT = frozenset(("WebSocketDisconnect", "ClientDisconnect"))
# The request did not validate (FastAPI): the client's error, reported as such.
REQUEST_INVALID = frozenset(("RequestValidationError", "WebSocketRequestValidationError"))


def classify(exception: BaseException) -> str:
    """``client_left``, ``request_invalid`` or ``server_error``."""
    for cls in type(exception).__mro__:
        name = cls.__name__
        if name in CLIENT_LEFT:
            return "client_left"
        if name in REQUEST_INVALID:
            return "request_invalid"
    return "server_error"
