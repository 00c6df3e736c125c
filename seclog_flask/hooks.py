"""Request hooks: a context for each request at its start, its outcome at the end.

A thin wrapper around ``app.wsgi_app`` (the WSGI-middleware pattern Flask
documents) puts a context in the environ before Flask runs anything, where the
core finds it for every event of the request (Flask already tracks the running
request: no contextvar is bound), so events from every other extension's hooks
are enriched. The context keeps the environ and reads the request's facts
(client address, path, route, user) only when an event needs them. It is also
the ``start_response`` the app answers through: the status reaches
:func:`seclog_core.adapters.finish_request` while Flask's request is still
active (integrations read it there), with no Flask hook to run on every
request. ``got_request_exception`` reports unhandled exceptions; the wrapper
covers a request that never answered, and takes the context out of the
environ. No Flask class is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, has_request_context, request
from flask.signals import got_request_exception

from seclog_core.adapters import (
    Pipeline,
    RequestContext,
    add_context_finder,
    bind_request_context,
    describe_request,
    finish_request,
    guarded,
    report_exception,
    report_failure,
    reset_request_context,
)

from ._events import describe_user
from ._state import SecLogState, state_of

__all__ = ["current_context", "forwarding_key", "install"]

_ENVIRON_KEY = "seclog.request"
# An exception got_request_exception saw, for the status report that follows it.
_EXCEPTION_KEY = "seclog.exception"
# Methods CSRF protection and login views never answer: a success to one of them
# needs no integration's look (a 4xx/5xx or another method always gets one).
_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
_connect_lock = threading.Lock()
_connected = False

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def install(app: Flask, state: SecLogState) -> None:
    """Hook ``app``'s requests (signal receivers are shared by all apps and connected once)."""
    global _connected
    with _connect_lock:
        if not _connected:
            got_request_exception.connect(_on_exception, weak=False)
            add_context_finder(_find_context)
            _connected = True
    state.wsgi_hooks = _AppHooks(app.wsgi_app, state)
    app.wsgi_app = state.wsgi_hooks  # type: ignore[method-assign]


def _find_context() -> RequestContext | None:
    """seclog's context of the Flask request running here (the core's context finder)."""
    if not has_request_context():
        return None
    ctx = request.environ.get(_ENVIRON_KEY)
    return ctx if isinstance(ctx, _FlaskRequest) else None


def current_context() -> RequestContext | None:
    """The seclog context of the running Flask request, if seclog follows it."""
    ctx = request.environ.get(_ENVIRON_KEY)
    if not isinstance(ctx, RequestContext):
        return None
    if ctx.refresh is not None:
        with guarded("flask.refresh"):
            ctx.refresh(ctx)
    return ctx


def forwarding_key(pipeline: Pipeline) -> str | None:
    """The environ key of the configured forwarding header, when it is not one read anyway."""
    name = pipeline.settings.forwarded_header.strip().lower()
    return None if name in ("forwarded", "x-forwarded-for") else _environ_key(name)


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


class _FlaskRequest(RequestContext):
    """One request's context, which is also the ``start_response`` the app answers through.

    Each app has its own subclass holding its hooks, pipeline and readers as class
    attributes, so a request's context stores only what differs per request.
    """

    hooks: _AppHooks
    environ: dict[str, Any]
    start_response: Callable[..., Any] | None

    def __call__(self, status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        write = self.start_response(status, headers, *exc_info)  # type: ignore[misc]
        if self.status_code is None:
            self.hooks.responded(self, status)
        return write


class _AppHooks:
    """Wraps one app's WSGI callable and holds its state, so no hook looks anything up."""

    def __init__(self, wsgi_app: _WSGIApp, state: SecLogState) -> None:
        self.wsgi_app = wsgi_app
        self.state = state
        self.request_id_key = _environ_key(state.request_id_header)
        self.forwarding_key = state.forwarding_key
        # The integrations' list itself: one installed later is seen too.
        self.inspectors = state.response_inspectors
        self.context_class: type[_FlaskRequest] = type(
            "_AppRequest",
            (_FlaskRequest,),
            {
                "hooks": self,
                "pipeline": state.pipeline,
                "refresh": staticmethod(_refresh),
                "load": staticmethod(_describe),
            },
        )

    def __getattr__(self, name: str) -> Any:
        # Other middleware may read attributes of the callable it wraps.
        return getattr(self.wsgi_app, name)

    def context(
        self, environ: dict[str, Any], start_response: Callable[..., Any] | None
    ) -> _FlaskRequest:
        """A context for this request: the user agent now (the detectors read it at the end),
        every other fact when something first reads it."""
        ctx = self.context_class.blank()
        ctx.environ = environ
        ctx.start_response = start_response
        ctx.path = environ.get("PATH_INFO")  # as it came in (a dispatcher may change it)
        agent = environ.get("HTTP_USER_AGENT")
        if agent is not None:
            ctx.user_agent = agent if len(agent) <= 512 else agent[:512]
        key = self.forwarding_key
        if (
            "HTTP_X_FORWARDED_FOR" in environ
            or "HTTP_FORWARDED" in environ
            or (key is not None and key in environ)
        ):
            ctx.load_facts()  # resolved now: an untrusted header is reported in any case
        return ctx

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if _ENVIRON_KEY in environ:  # an outer seclog app dispatched here: it follows the request
            return self.wsgi_app(environ, start_response)
        try:
            ctx = self.context(environ, start_response)
            environ[_ENVIRON_KEY] = ctx  # where _find_context looks: no contextvar to bind
        except Exception as exc:
            report_failure("flask.request_started", exc)
            return self.wsgi_app(environ, start_response)
        try:
            result = self.wsgi_app(environ, ctx)
        except BaseException as exc:
            # The exception propagated (testing/debug): the app never answered.
            if ctx.status_code is None:
                _finish_unanswered(environ, ctx, exc if isinstance(exc, Exception) else None)
            raise
        else:
            if ctx.status_code is None:  # answering later, while the body is read, or never
                _finish_unanswered(environ, ctx, None)
        finally:
            environ.pop(_ENVIRON_KEY, None)
        return result

    def responded(self, ctx: _FlaskRequest, status: str) -> None:
        """The app answered ``status``: the integrations look at it, then the core."""
        try:
            code = int(status[:3])
            environ = ctx.environ
            if ctx.load is None:  # read already: the route and user the app has by now join
                _refresh(ctx)
            inspectors = self.inspectors
            if (
                inspectors
                and (code >= 400 or environ.get("REQUEST_METHOD") not in _SAFE_METHODS)
                and has_request_context()
            ):
                state = self.state
                for inspect in inspectors:
                    try:
                        inspect(code, ctx, state)
                    except Exception as exc:
                        report_failure("flask.response_inspector", exc)
            finish_request(ctx, code, exception=environ.pop(_EXCEPTION_KEY, None))
        except Exception as exc:
            report_failure("flask.after_request", exc)


def _finish_unanswered(
    environ: dict[str, Any], ctx: RequestContext, error: BaseException | None
) -> None:
    with guarded("flask.teardown_request"):
        exception = error if error is not None else environ.pop(_EXCEPTION_KEY, None)
        # Flask's request is gone: bound, so an event still joins the request's trace.
        token = bind_request_context(ctx)
        try:
            finish_request(ctx, 500 if exception else None, exception=exception)
        finally:
            reset_request_context(token)


def _path(raw: str | None) -> str:
    # As werkzeug reads it: PATH_INFO is latin-1 text carrying UTF-8 bytes.
    raw = raw or ""
    if not raw.isascii():
        raw = raw.encode("latin-1").decode("utf-8", "replace")
    return raw if raw[:1] == "/" and raw[1:2] != "/" else "/" + raw.lstrip("/")


def _server_address(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _describe(ctx: RequestContext) -> None:
    """The context's ``load``: the request's facts from the environ, read on first use."""
    if not isinstance(ctx, _FlaskRequest):
        return
    environ = ctx.environ
    hooks = ctx.hooks
    # Behind werkzeug's ProxyFix, trust decisions stay seclog's: use the original peer.
    original = environ.get("werkzeug.proxy_fix.orig") or environ
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME")
    method = environ.get("REQUEST_METHOD") or "GET"
    key = hooks.forwarding_key
    describe_request(
        ctx,
        method=method if method.isupper() else method.upper(),
        path=_path(ctx.path),
        peer=original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR"),
        forwarded=environ.get("HTTP_FORWARDED"),
        x_forwarded_for=environ.get("HTTP_X_FORWARDED_FOR"),
        forwarding=environ.get(key) if key else None,
        user_agent=environ.get("HTTP_USER_AGENT"),
        request_id=environ.get(hooks.request_id_key),
        scheme=original.get("wsgi.url_scheme") or environ.get("wsgi.url_scheme"),
        server_address=_server_address(host) if host else None,
    )
    _refresh(ctx)


def _refresh(ctx: RequestContext) -> None:
    """Fill in the route, method and user the app has by now; never loads a user."""
    if not isinstance(ctx, _FlaskRequest):
        return
    if ctx.route is None and has_request_context() and request.environ.get(_ENVIRON_KEY) is ctx:
        current = request._get_current_object()  # type: ignore[attr-defined]
        rule = current.url_rule
        if rule is not None:  # matched: the method Flask dispatched on is final too
            ctx.route = rule.rule[:512]
            method = current.method
            if ctx.method != method:  # rewritten by a middleware inside the wrapper
                ctx.method = method[:32]
    if ctx.user_id is not None:
        return
    state = ctx.hooks.state
    for source in state.user_sources:
        user = source()
        if user is not None:
            ctx.user_id, ctx.user_name = describe_user(user, state.user_name_attributes)
            if ctx.user_id is not None:
                return


def _context(state: SecLogState) -> RequestContext:
    environ = request.environ
    ctx = environ.get(_ENVIRON_KEY)
    if isinstance(ctx, RequestContext):
        return ctx
    # A request that bypassed wsgi_app (test_request_context): described, unbound.
    hooks = state.wsgi_hooks
    if isinstance(hooks, _AppHooks):
        return hooks.context(environ, None)
    return RequestContext(pipeline=state.pipeline)


def _on_exception(sender: Any, exception: BaseException | None = None, **_: Any) -> None:
    with guarded("flask.got_request_exception"):
        state = state_of(sender)
        if state is None or exception is None:
            return
        request.environ[_EXCEPTION_KEY] = exception
        report_exception(_context(state), exception)
