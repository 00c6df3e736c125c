"""Request hooks: bind the request's context at start, report its outcome at the end.

``request_started`` (before any ``before_request`` function, so events from
other extensions' hooks are enriched too) binds the context; ``after_request``
lets integrations read the response, then hands the status to
:func:`seclog_core.http.finish_request`; ``got_request_exception`` reports
unhandled exceptions; ``teardown_request`` covers what never reached
``after_request`` and unbinds. No Flask class is patched.
"""

from __future__ import annotations

import threading
from contextvars import Token
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Flask, Response, current_app, request
from flask.signals import got_request_exception, request_started

from seclog_core._internal import report_failure
from seclog_core.context import RequestContext, bind_request_context, reset_request_context
from seclog_core.http import finish_request, report_exception, start_request

from ._events import describe_user
from ._state import SecLogState, state_of

__all__ = ["current_context", "install"]

_ENVIRON_KEY = "seclog.request"
_connect_lock = threading.Lock()
_connected = False


@dataclass
class _Tracked:
    """One request as seclog follows it (kept in the WSGI environ: per request, never shared)."""

    ctx: RequestContext
    token: Token[RequestContext | None]
    state: SecLogState
    exception: BaseException | None = None
    finished: bool = False


def install(app: Flask) -> None:
    """Hook ``app``'s requests (signal receivers are shared by all apps and connected once)."""
    global _connected
    with _connect_lock:
        if not _connected:
            request_started.connect(_on_request_started, weak=False)
            got_request_exception.connect(_on_exception, weak=False)
            _connected = True
    app.after_request(_after_request)
    app.teardown_request(_teardown_request)


def current_context() -> RequestContext | None:
    """The seclog context of the running Flask request, if seclog follows it."""
    tracked = request.environ.get(_ENVIRON_KEY)
    return tracked.ctx if isinstance(tracked, _Tracked) else None


def _server_address(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _begin(state: SecLogState) -> _Tracked:
    environ = request.environ
    # Behind werkzeug's ProxyFix, trust decisions stay seclog's: use the original peer.
    original = environ.get("werkzeug.proxy_fix.orig") or {}
    headers = request.headers
    rule = request.url_rule
    ctx = start_request(
        method=request.method,
        path=request.path,
        peer=original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR"),
        forwarded=headers.get("Forwarded"),
        x_forwarded_for=headers.get("X-Forwarded-For"),
        user_agent=headers.get("User-Agent"),
        request_id=headers.get(state.request_id_header),
        scheme=original.get("wsgi.url_scheme") or request.scheme,
        server_address=_server_address(request.host),
        route=rule.rule if rule is not None else None,
        pipeline=state.pipeline,
    )
    ctx.refresh = partial(_refresh_user, state)
    tracked = _Tracked(ctx, bind_request_context(ctx), state)
    environ[_ENVIRON_KEY] = tracked
    return tracked


def _tracked(state: SecLogState) -> _Tracked:
    tracked = request.environ.get(_ENVIRON_KEY)
    return tracked if isinstance(tracked, _Tracked) else _begin(state)


def _refresh_user(state: SecLogState, ctx: RequestContext) -> None:
    """Fill in the user the app has loaded by now; never loads one (no query, no signal)."""
    if ctx.user_id is not None:
        return
    for source in state.user_sources:
        user = source()
        if user is not None:
            ctx.user_id, ctx.user_name = describe_user(user, state.user_name_attributes)
            if ctx.user_id is not None:
                return


def _on_request_started(sender: Any, **_: Any) -> None:
    state = state_of(sender)
    if state is None or _ENVIRON_KEY in request.environ:
        return
    try:
        _begin(state)
    except Exception as exc:
        report_failure("flask.request_started", exc)


def _on_exception(sender: Any, exception: BaseException | None = None, **_: Any) -> None:
    state = state_of(sender)
    if state is None or exception is None:
        return
    try:
        tracked = _tracked(state)
        tracked.exception = exception
        report_exception(tracked.ctx, exception)
    except Exception as exc:
        report_failure("flask.got_request_exception", exc)


def _after_request(response: Response) -> Response:
    state = state_of(current_app)
    if state is None:
        return response
    try:
        tracked = _tracked(state)
        for inspect in list(state.response_inspectors):
            try:
                inspect(response, tracked.ctx, state)
            except Exception as exc:
                report_failure("flask.response_inspector", exc)
        finish_request(tracked.ctx, response.status_code, exception=tracked.exception)
        tracked.finished = True
    except Exception as exc:
        report_failure("flask.after_request", exc)
    return response


def _teardown_request(error: BaseException | None) -> None:
    tracked = request.environ.pop(_ENVIRON_KEY, None)
    if not isinstance(tracked, _Tracked):
        return
    try:
        if not tracked.finished:
            # after_request never ran: the exception propagated (testing/debug) or escaped it.
            exception = error if error is not None else tracked.exception
            finish_request(tracked.ctx, 500 if exception else None, exception=exception)
    except Exception as exc:
        report_failure("flask.teardown_request", exc)
    finally:
        reset_request_context(tracked.token)
