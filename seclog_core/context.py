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
from typing import Any, TypeVar

__all__ = [
    "RequestContext",
    "add_context_finder",
    "bind_request_context",
    "current_request_context",
    "detached",
    "request_context",
    "reset_request_context",
]


_Context = TypeVar("_Context", bound="RequestContext")


@dataclass
class RequestContext:
    """Facts about the current request; adapters fill what their framework knows.

    Mutable on purpose: the user is often only known after authentication runs,
    later in the same request. Each request has its own instance. No ``__slots__``:
    every default lives on the class, so an adapter's per-request context
    (:meth:`blank`) stores only what it knows.
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
    # Reads the request's facts the first time anything reads the context (through
    # current_request_context, attributes or detached), so a request no event reads
    # costs no parsing; cleared once called. Facts an adapter sets itself stay as set.
    load: Callable[[RequestContext], None] | None = field(default=None, repr=False, compare=False)

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

    @classmethod
    def blank(cls: type[_Context]) -> _Context:
        """A context with every fact unset, made without running ``__init__``.

        For an adapter's subclass on the request path: it then sets the few facts it
        has (and its own attributes), every other field reading as its default.
        """
        ctx = object.__new__(cls)
        ctx.emitted = set()  # the one field whose default is made per instance
        return ctx

    def load_facts(self) -> None:
        """Read the facts the adapter left for first use, if any (once; never raises)."""
        load = self.load
        if load is not None:
            self.load = None  # first: an event the reading emits reads the context as is
            with contextlib.suppress(Exception):
                load(self)

    def attributes(self) -> dict[str, object]:
        """The context as OTel semantic-convention attributes (unset facts left out)."""
        if self.load is not None:
            self.load_facts()
        refresh = self.refresh
        if refresh is not None:
            # A late fact is optional: the event still goes out without it.
            with contextlib.suppress(Exception):
                refresh(self)
        # Written out, not a loop over pairs: this runs for every event.
        found: dict[str, object] = {}
        if (value := self.client_address) is not None and value != "":
            found["client.address"] = value
        if (value := self.peer_address) is not None and value != "":
            found["network.peer.address"] = value
        if (value := self.method) is not None and value != "":
            found["http.request.method"] = value
        if (value := self.path) is not None and value != "":
            found["url.path"] = value
        if (value := self.route) is not None and value != "":
            found["http.route"] = value
        if (value := self.scheme) is not None and value != "":
            found["url.scheme"] = value
        if (value := self.server_address) is not None and value != "":
            found["server.address"] = value
        if (value := self.user_agent) is not None and value != "":
            found["user_agent.original"] = value
        if (value := self.request_id) is not None and value != "":
            found["http.request.id"] = value
        if (value := self.user_id) is not None and value != "":
            found["user.id"] = value
        if (value := self.user_name) is not None and value != "":
            found["user.name"] = value
        return found


_current: ContextVar[RequestContext | None] = ContextVar("seclog_request_context", default=None)
# Adapters whose framework already tracks the running request (Flask's request context)
# find seclog's context there, instead of binding the contextvar on every request.
_finders: list[Callable[[], RequestContext | None]] = []


def current_request_context() -> RequestContext | None:
    """The context bound for the running request, or None outside a request."""
    ctx = _current.get()
    if ctx is None:
        if not _finders:
            return None
        ctx = _found()
        if ctx is None:
            return None
    if ctx.load is not None:
        ctx.load_facts()  # whoever asks reads the facts: they are read on first use
    return ctx


def add_context_finder(finder: Callable[[], RequestContext | None]) -> None:
    """Let ``current_request_context`` ask ``finder`` when no context is bound (idempotent).

    For an adapter whose framework tracks the running request itself: the finder
    returns seclog's context of that request, or None; it must be cheap and never
    raise. A bound context (``bind_request_context``) always wins.
    """
    if finder not in _finders:
        _finders.append(finder)


def _found() -> RequestContext | None:
    for finder in tuple(_finders):
        try:
            ctx = finder()
        except Exception:  # noqa: S112 - a finder that fails finds nothing
            continue
        if ctx is not None:
            return ctx
    return None


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
    if ctx.load is not None:
        ctx.load_facts()  # facts an adapter left for first use: this read is the last one
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
