"""From a Django ``HttpRequest`` to seclog's request context, and back to the request.

The context's ``refresh`` holds the request, so receivers deep in a signal can
name the acting user; the user is read only when Django already loaded it, so
seclog never adds a database query to a request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import LazyObject, empty

from seclog_core import RequestContext, current_request_context
from seclog_core.adapters import start_request

from .settings import get_pipeline

__all__ = ["acting_user", "bound_request", "context_for", "refresh_user", "username_of"]

_slot = object.__getattribute__


class _Refresh:
    """A context's ``refresh``: copies what Django has loaded since, and names the request."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def __call__(self, ctx: RequestContext) -> None:
        refresh_user(self.request, ctx)


def bound_request() -> HttpRequest | None:
    """The request behind the bound context (receivers deep in a signal name its user)."""
    ctx = current_request_context()
    refresh = ctx.refresh if ctx is not None else None
    return refresh.request if isinstance(refresh, _Refresh) else None


def _raw_host(request: HttpRequest) -> str | None:
    # Never request.get_host(): it raises DisallowedHost for the hosts we must report.
    host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME")
    if not isinstance(host, str) or not host:
        return None
    if host.startswith("["):
        return host[: host.find("]") + 1] or host
    return host.rsplit(":", 1)[0]


def context_for(request: HttpRequest) -> RequestContext:
    """A bound-ready context for ``request``, with the client address resolved safely."""
    meta = request.META
    match = getattr(request, "resolver_match", None)
    pipeline = get_pipeline()
    # The operator's forwarding header when it is another than Forwarded / X-Forwarded-For.
    header = pipeline.settings.forwarded_header.upper().replace("-", "_")
    ctx = start_request(
        method=request.method,
        path=request.path,
        peer=meta.get("REMOTE_ADDR"),
        forwarded=meta.get("HTTP_FORWARDED"),
        x_forwarded_for=meta.get("HTTP_X_FORWARDED_FOR"),
        forwarding=meta.get(f"HTTP_{header}"),
        user_agent=meta.get("HTTP_USER_AGENT"),
        request_id=meta.get("HTTP_X_REQUEST_ID"),
        scheme=meta.get("wsgi.url_scheme") or ("https" if request.is_secure() else "http"),
        server_address=_raw_host(request),
        route=(match.route or None) if match is not None else None,
        pipeline=pipeline,
    )
    # The user and the route are read when an event needs them (never loading the user).
    ctx.refresh = _Refresh(request)
    return ctx


def username_of(user: Any, *, authenticated: bool = True) -> str | None:
    """A user's login name, or None for anonymous (when ``authenticated``) or unreadable users."""
    try:
        if user is None or (authenticated and not getattr(user, "is_authenticated", False)):
            return None
        name = user.get_username()
        return str(name) if name is not None else None
    except Exception:
        return None


def acting_user(request: HttpRequest | None) -> Any:
    """The request's user if Django has already loaded it, else None (no query is made)."""
    if request is None:
        return None
    facts = request.__dict__
    user = facts.get("user")
    if isinstance(user, LazyObject):
        # Past LazyObject's own __getattribute__: reading the slot must not load anything.
        wrapped = _slot(user, "_wrapped")
        if wrapped is not empty:
            return wrapped
        return facts.get("_cached_user") or facts.get("_acached_user")
    if user is not None:
        return user
    return facts.get("_acached_user")


def refresh_user(request: HttpRequest | None, ctx: RequestContext | None) -> None:
    """Copy the already-loaded user onto the context (route too, once resolved)."""
    if request is None or ctx is None:
        return
    user = acting_user(request)
    if user is not None:
        name = username_of(user)
        if name is not None:
            ctx.user_name = name
            try:
                ctx.user_id = None if user.pk is None else str(user.pk)
            except Exception:
                ctx.user_id = None  # an unreadable id is left out, the event still goes
    if ctx.route is None:
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", None)
        if route:
            ctx.route = str(route)[:512]
