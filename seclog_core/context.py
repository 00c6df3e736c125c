"""The request context: who is asking, from where, for what.

An adapter binds a :class:`RequestContext` in a contextvar at request start and
resets it at the end, so every event emitted during the request, from an auth
signal deep in a backend or from the app through the manual API, is enriched
without being passed anything. Contextvars keep threads and asyncio tasks apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "RequestContext",
    "bind_request_context",
    "current_request_context",
    "detached",
    "request_context",
    "reset_request_context",
]


@dataclass(slots=True)
class RequestContext:
    """Facts about the current request; adapters fill what their framework knows.

    Mutable on purpose: the user is often only known after authentication runs,
    later in the same request. Each request has its own instance.
    """

    client_address: str | None = None
    peer_address: str | None = None
    method: str | None = None
    path: str | None = None
    route: str | None = None
    scheme: str | None = None
    server_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    status_code: int | None = None
    # Event types already emitted in this request, so a response-status fallback
    # (403 -> authz_fail) does not repeat what a framework signal already said.
    emitted: set[str] = field(default_factory=set)
    # The app's pipeline (its own settings); None means the process default.
    pipeline: Any = field(default=None, repr=False, compare=False)
    # Called before the context is read, so an adapter can fill in facts its framework
    # learns later in the request (the route, the user) without watching for them.
    refresh: Callable[[RequestContext], None] | None = field(
        default=None, repr=False, compare=False
    )
    # seclog's one span for this request when the app does not trace (opened at the
    # first event, ended by end_span when the request finishes).
    trace_span: Any = field(default=None, repr=False, compare=False)

    def end_span(self) -> None:
        """End seclog's span of this request, if it opened one (idempotent, never raises).

        The ended span stays referenced: an event that arrives later (an alert from a
        worker thread) still lands in the request's trace.
        """
        span = self.trace_span
        if span is not None:
            with contextlib.suppress(Exception):
                if span.is_recording():
                    span.end()

    def attributes(self) -> dict[str, object]:
        """The context as OTel semantic-convention attributes (unset facts left out)."""
        if self.refresh is not None:
            # A late fact is optional: the event still goes out without it.
            with contextlib.suppress(Exception):
                self.refresh(self)
        pairs = (
            ("client.address", self.client_address),
            ("network.peer.address", self.peer_address),
            ("http.request.method", self.method),
            ("url.path", self.path),
            ("http.route", self.route),
            ("url.scheme", self.scheme),
            ("server.address", self.server_address),
            ("user_agent.original", self.user_agent),
            ("http.request.id", self.request_id),
            ("user.id", self.user_id),
            ("user.name", self.user_name),
        )
        return {key: value for key, value in pairs if value is not None and value != ""}


_current: ContextVar[RequestContext | None] = ContextVar("seclog_request_context", default=None)


def current_request_context() -> RequestContext | None:
    """The context bound for the running request, or None outside a request."""
    return _current.get()


def bind_request_context(ctx: RequestContext) -> Token[RequestContext | None]:
    """Bind ``ctx`` for the current thread or task; pass the token to reset."""
    return _current.set(ctx)


def reset_request_context(token: Token[RequestContext | None]) -> None:
    """Restore what was bound before; tolerant of a token from another context.

    The request being unbound is over: seclog's span for it (if any) ends here.
    """
    ending = _current.get()
    if ending is not None and ending.trace_span is not None:
        ending.end_span()
    try:
        _current.reset(token)
    except ValueError:
        # The token was created in another Context (e.g. a sync view run in a
        # thread by an async server): clearing is the safe equivalent.
        _current.set(None)


@contextmanager
def request_context(
    ctx: RequestContext | None = None, **facts: str | None
) -> Iterator[RequestContext]:
    """Bind a context for the duration of a ``with`` block (tests, workers, CLI)."""
    bound = ctx if ctx is not None else RequestContext(**facts)  # type: ignore[arg-type]
    token = bind_request_context(bound)
    try:
        yield bound
    finally:
        reset_request_context(token)


def detached(ctx: RequestContext | None) -> RequestContext | None:
    """The request's facts as values, detached from it: no ``refresh`` callback into the
    framework, no span; for seclog's threads, which never call back into the app."""
    if ctx is None:
        return None
    return RequestContext(
        client_address=ctx.client_address,
        peer_address=ctx.peer_address,
        method=ctx.method,
        path=ctx.path,
        route=ctx.route,
        scheme=ctx.scheme,
        server_address=ctx.server_address,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        user_id=ctx.user_id,
        user_name=ctx.user_name,
        status_code=ctx.status_code,
        pipeline=ctx.pipeline,
    )
