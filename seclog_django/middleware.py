"""``SecurityLoggingMiddleware``: binds each request's context and reports its outcome.

One body serves WSGI and ASGI: ``__call__`` and ``__acall__`` only await or
not around the shared ``_open`` / ``_close``. The context (client address
through trusted proxies, route, method, request id, user agent, user once
Django loaded it) is bound for everything emitted during the request, its
facts read only when something reads them (a request with no event costs a
context, a bind and the status), and the status is handed to the core (401,
403, 429, 5xx) when the request ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from seclog_core import RequestContext, bind_request_context, reset_request_context
from seclog_core.adapters import finish_request, logger, report_failure

from . import checks as _checks  # noqa: F401 - registers the system checks
from ._emit import emit
from ._request import context_for, refresh_user
from ._responses import explain_response
from .receivers import _EXCEPTION, _OPEN

__all__ = ["SecurityLoggingMiddleware"]

_State = tuple[RequestContext, Token[RequestContext | None]] | None
_warned_app = False


class SecurityLoggingMiddleware:
    """Add to ``MIDDLEWARE`` after ``AuthenticationMiddleware``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        global _warned_app
        if not _warned_app and not apps.is_installed("seclog_django"):
            _warned_app = True
            logger.warning(
                "seclog: add 'seclog_django' to INSTALLED_APPS; without it auth signals, "
                "CSRF and suspicious-operation events are not reported (seclog.W003)"
            )

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self.__acall__(request)
        state = self._open(request)
        try:
            response = self.get_response(request)
        finally:
            request.__dict__.pop(_OPEN, None)
        self._close(request, response, state)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        state = self._open(request)
        try:
            get_response: Callable[[HttpRequest], Awaitable[Any]] = self.get_response
            response = await get_response(request)
        finally:
            request.__dict__.pop(_OPEN, None)
        self._close(request, response, state)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        if isinstance(exception, PermissionDenied):
            emit(
                "authz_fail",
                {"security.reason": "permission_denied", "http.response.status_code": 403},
                context=_context(request),
                exception=exception,
            )
        return None  # Django's own handling (403 page, 500 page) carries on

    def _open(self, request: HttpRequest) -> _State:
        try:
            ctx = context_for(request)
            request.__dict__[_OPEN] = ctx
            return ctx, bind_request_context(ctx)
        except Exception as exc:
            report_failure("django.middleware.open", exc)
            return None

    def _close(self, request: HttpRequest, response: Any, state: _State) -> None:
        if state is None:
            return
        ctx, token = state
        try:
            if ctx.load is None:  # read already: the user Django loaded since joins it
                refresh_user(request, ctx)
            if getattr(response, "exception", False):  # only DRF's error responses say more
                explain_response(response, ctx)
            exception = request.__dict__.pop(_EXCEPTION, None)
            finish_request(ctx, getattr(response, "status_code", None), exception=exception)
        except Exception as exc:
            report_failure("django.middleware.close", exc)
        finally:
            reset_request_context(token)


def _context(request: HttpRequest) -> RequestContext | None:
    ctx = request.__dict__.get(_OPEN)
    return ctx if isinstance(ctx, RequestContext) else None
