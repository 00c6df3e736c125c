"""WebSocket denials: a handshake refused, or a connection closed for a policy reason.

A close before ``websocket.accept`` is a refused handshake (the server answers
403); ``websocket.http.response.start`` carries the status the app chose; close
codes 1008 (policy violation), 3000 (unauthorized) and 3003 (forbidden) are
failures whenever they come; a 1008 carrying FastAPI's validation errors is the
client's bad input (``input_validation_fail``), not a denial.
"""

from __future__ import annotations

from seclog_core import RequestContext
from seclog_core.adapters import Pipeline

from ._scope import auth_middleware_rejected
from ._types import Message, Scope

__all__ = ["CLOSE_CODE_EVENTS", "WebSocketWatch"]

# Close code -> (event type, reason): a literal table, as the IANA registry names them.
CLOSE_CODE_EVENTS: dict[int, tuple[str, str]] = {
    1008: ("authz_fail", "policy_violation"),
    3000: ("authn_fail", "unauthorized"),
    3003: ("authz_fail", "forbidden"),
}


def _validation_errors(reason: object) -> bool:
    """FastAPI closes with 1008 and its validation errors (a list) as the reason."""
    if isinstance(reason, list):
        return True
    return isinstance(reason, str) and reason.startswith("[{") and "loc" in reason


class WebSocketWatch:
    """Follows one connection's outgoing messages; holds no state beyond the connection."""

    __slots__ = ("accepted", "ctx", "pipeline", "scope", "status")

    def __init__(self, scope: Scope, ctx: RequestContext, pipeline: Pipeline) -> None:
        self.scope = scope
        self.ctx = ctx
        self.pipeline = pipeline
        self.accepted = False
        # The handshake's HTTP status when the app denied it with a response.
        self.status: int | None = None

    def observe(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "websocket.accept":
            self.accepted = True
        elif kind == "websocket.close":
            self._closed(message.get("code") or 1000, message.get("reason"))
        elif kind == "websocket.http.response.start":
            status = message.get("status")
            self.status = status if isinstance(status, int) else None

    def _closed(self, code: object, reason: object) -> None:
        mapped = CLOSE_CODE_EVENTS.get(code) if isinstance(code, int) else None
        if code == 1008 and _validation_errors(reason):
            mapped = ("input_validation_fail", "request_validation")
        if mapped is None and not self.accepted:
            if auth_middleware_rejected(self.scope):
                mapped = ("authn_fail", "authentication_error")
            else:
                mapped = ("authz_fail", "handshake_rejected")
        if mapped is None:
            return
        event_type, reason = mapped
        if event_type in self.ctx.emitted:
            return  # the app already said why
        self.pipeline.emit(
            event_type,
            {
                "security.reason": reason,
                "security.websocket_close_code": code if isinstance(code, int) else None,
                "security.websocket_accepted": self.accepted,
            },
            context=self.ctx,
        )
