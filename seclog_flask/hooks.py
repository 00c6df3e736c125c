"""Request hooks: bind the request's context at start, report its outcome at the end.

A thin wrapper around ``app.wsgi_app`` (the WSGI-middleware pattern Flask
documents) binds a context built from the WSGI environ before Flask runs
anything, so events from every other extension's hooks are enriched; the route
and the user are read only when an event needs them. ``after_request`` lets
integrations read the response, then hands the status to
:func:`seclog_core.adapters.finish_request`; ``got_request_exception`` reports
unhandled exceptions; the wrapper covers what never reached ``after_request``
and unbinds. No Flask class is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from flask import Flask, Response, has_request_context, request
from flask.signals import got_request_exception

from seclog_core.adapters import (
    Pipeline,
    RequestContext,
    bind_request_context,
    finish_request,
    guarded,
    report_exception,
    report_failure,
    reset_request_context,
    start_request,
)

from ._events import describe_user
from ._state import SecLogState, state_of

__all__ = ["current_context", "forwarding_key", "install"]

_ENVIRON_KEY = "seclog.request"
# An exception got_request_exception saw, for the wrapper if after_request never runs.
_EXCEPTION_KEY = "seclog.exception"
_connect_lock = threading.Lock()
_connected = False

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def install(app: Flask, state: SecLogState) -> None:
    """Hook ``app``'s requests (signal receivers are shared by all apps and connected once)."""
    global _connected
    with _connect_lock:
        if not _connected:
            got_request_exception.connect(_on_exception, weak=False)
            _connected = True
    hooks = _AppHooks(app.wsgi_app, state)
    app.wsgi_app = hooks  # type: ignore[method-assign]
    app.after_request(hooks._after_request)


def current_context() -> RequestContext | None:
    """The seclog context of the running Flask request, if seclog follows it."""
    ctx = request.environ.get(_ENVIRON_KEY)
    if not isinstance(ctx, RequestContext):
        return None
    if ctx.refresh is not None:
        with guarded("flask.refresh"):
            ctx.refresh(ctx)
    return ctx


def _server_address(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _path(environ: dict[str, Any]) -> str:
    # As werkzeug reads it: PATH_INFO is latin-1 text carrying UTF-8 bytes.
    raw = environ.get("PATH_INFO") or ""
    if not raw.isascii():
        raw = raw.encode("latin-1").decode("utf-8", "replace")
    return raw if raw[:1] == "/" and raw[1:2] != "/" else "/" + raw.lstrip("/")


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _request_id_key(state: SecLogState) -> str:
    return _environ_key(state.request_id_header)


def forwarding_key(pipeline: Pipeline) -> str | None:
    """The environ key of the configured forwarding header, when it is not one read anyway."""
    name = pipeline.settings.forwarded_header.strip().lower()
    return None if name in ("forwarded", "x-forwarded-for") else _environ_key(name)


def _new_context(
    environ: dict[str, Any],
    state: SecLogState,
    request_id_key: str,
    refresh: Callable[[RequestContext], None],
) -> RequestContext:
    """A context from the raw environ: no Flask object is built or touched."""
    # Behind werkzeug's ProxyFix, trust decisions stay seclog's: use the original peer.
    original = environ.get("werkzeug.proxy_fix.orig") or environ
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME")
    method = environ.get("REQUEST_METHOD") or "GET"
    ctx = start_request(
        method=method if method.isupper() else method.upper(),
        path=_path(environ),
        peer=original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR"),
        forwarded=environ.get("HTTP_FORWARDED"),
        x_forwarded_for=environ.get("HTTP_X_FORWARDED_FOR"),
        forwarding=environ.get(state.forwarding_key) if state.forwarding_key else None,
        user_agent=environ.get("HTTP_USER_AGENT"),
        request_id=environ.get(request_id_key),
        scheme=original.get("wsgi.url_scheme") or environ.get("wsgi.url_scheme"),
        server_address=_server_address(host) if host else None,
        pipeline=state.pipeline,
    )
    ctx.refresh = refresh
    return ctx


def _refresh(state: SecLogState, ctx: RequestContext) -> None:
    """Fill in the route and the user the app has loaded by now; never loads one."""
    if ctx.route is None and has_request_context() and request.environ.get(_ENVIRON_KEY) is ctx:
        rule = request.url_rule
        if rule is not None:
            ctx.route = rule.rule[:512]
    if ctx.user_id is not None:
        return
    for source in state.user_sources:
        user = source()
        if user is not None:
            ctx.user_id, ctx.user_name = describe_user(user, state.user_name_attributes)
            if ctx.user_id is not None:
                return


class _AppHooks:
    """Wraps one app's WSGI callable and holds its state, so no hook looks anything up."""

    def __init__(self, wsgi_app: _WSGIApp, state: SecLogState) -> None:
        self.wsgi_app = wsgi_app
        self.state = state
        self.request_id_key = _request_id_key(state)
        self.refresh = partial(_refresh, state)  # one for every request, not one each

    def __getattr__(self, name: str) -> Any:
        # Other middleware may read attributes of the callable it wraps.
        return getattr(self.wsgi_app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if _ENVIRON_KEY in environ:  # an outer seclog app dispatched here: it follows the request
            return self.wsgi_app(environ, start_response)
        try:
            ctx = _new_context(environ, self.state, self.request_id_key, self.refresh)
            environ[_ENVIRON_KEY] = ctx
            token = bind_request_context(ctx)
        except Exception as exc:
            report_failure("flask.request_started", exc)
            return self.wsgi_app(environ, start_response)
        try:
            result = self.wsgi_app(environ, start_response)
        except BaseException as exc:
            # after_request never ran: the exception propagated (testing/debug).
            if ctx.status_code is None:
                self._finish_unfinished(environ, ctx, exc if isinstance(exc, Exception) else None)
            raise
        else:
            if ctx.status_code is None:  # after_request never ran
                self._finish_unfinished(environ, ctx, None)
        finally:
            environ.pop(_ENVIRON_KEY, None)
            reset_request_context(token)
        return result

    @staticmethod
    def _finish_unfinished(
        environ: dict[str, Any], ctx: RequestContext, error: BaseException | None
    ) -> None:
        with guarded("flask.teardown_request"):
            exception = error if error is not None else environ.pop(_EXCEPTION_KEY, None)
            finish_request(ctx, 500 if exception else None, exception=exception)

    def _after_request(self, response: Response) -> Response:
        with guarded("flask.after_request"):
            current = request._get_current_object()  # type: ignore[attr-defined]
            environ = current.environ
            ctx = environ.get(_ENVIRON_KEY)
            if not isinstance(ctx, RequestContext):
                # A request that bypassed wsgi_app (test_request_context): report it unbound.
                ctx = _new_context(environ, self.state, self.request_id_key, self.refresh)
            rule = current.url_rule
            if rule is not None and ctx.route is None:
                ctx.route = rule.rule[:512]
            if ctx.method != current.method:  # rewritten by a middleware inside the wrapper
                ctx.method = current.method
            state = self.state
            for inspect in state.response_inspectors:
                with guarded("flask.response_inspector"):
                    inspect(response, ctx, state)
            finish_request(ctx, response.status_code, exception=environ.pop(_EXCEPTION_KEY, None))
        return response


def _context(state: SecLogState) -> RequestContext:
    environ = request.environ
    ctx = environ.get(_ENVIRON_KEY)
    if isinstance(ctx, RequestContext):
        return ctx
    return _new_context(environ, state, _request_id_key(state), partial(_refresh, state))


def _on_exception(sender: Any, exception: BaseException | None = None, **_: Any) -> None:
    with guarded("flask.got_request_exception"):
        state = state_of(sender)
        if state is None or exception is None:
            return
        request.environ[_EXCEPTION_KEY] = exception
        report_exception(_context(state), exception)
