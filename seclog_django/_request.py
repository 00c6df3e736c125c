"""From a Django ``HttpRequest`` to seclog's request context, and back to the request.

The context keeps the request, so receivers deep in a signal can name the acting
user, and reads the request's facts only when something first reads it (a
request with no event parses nothing); the user is read only when Django already
loaded it, so seclog never adds a database query to a request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import LazyObject, empty

from seclog_core import RequestContext, current_request_context
from seclog_core.adapters import Pipeline, describe_request

from .settings import get_pipeline

__all__ = ["acting_user", "bound_request", "context_for", "refresh_user", "username_of"]

_slot = object.__getattribute__
# (pipeline, META key of its forwarding header when it is another than the two standard ones)
_forwarding: tuple[object, str | None] = (None, None)


def _raw_host(request: HttpRequest) -> str | None:
    # Never request.get_host(): it raises DisallowedHost for the hosts we must report.
    host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME")
    if not isinstance(host, str) or not host:
        return None
    if host.startswith("["):
        return host[: host.find("]") + 1] or host
    return host.rsplit(":", 1)[0]


def _forwarding_key(pipeline: Pipeline) -> str | None:
    """The META key of the operator's forwarding header, if not Forwarded / X-Forwarded-For."""
    global _forwarding
    cached, key = _forwarding
    if cached is not pipeline:
        name = pipeline.settings.forwarded_header.strip().upper().replace("-", "_")
        key = None if name in ("FORWARDED", "X_FORWARDED_FOR") else f"HTTP_{name}"
        _forwarding = (pipeline, key)
    return key


def _describe(ctx: RequestContext) -> None:
    """The context's ``load``: the request's facts, read on first use."""
    if not isinstance(ctx, _DjangoRequest):
        return
    request = ctx.request
    meta = request.META
    match = getattr(request, "resolver_match", None)
    key = _forwarding_key(ctx.pipeline)
    describe_request(
        ctx,
        method=request.method,
        path=request.path,
        peer=meta.get("REMOTE_ADDR"),
        forwarded=meta.get("HTTP_FORWARDED"),
        x_forwarded_for=meta.get("HTTP_X_FORWARDED_FOR"),
        forwarding=meta.get(key) if key else None,
        user_agent=meta.get("HTTP_USER_AGENT"),
        request_id=meta.get("HTTP_X_REQUEST_ID"),
        scheme=meta.get("wsgi.url_scheme") or ("https" if request.is_secure() else "http"),
        server_address=_raw_host(request),
        route=(match.route or None) if match is not None else None,
    )
    refresh_user(request, ctx)


def _refresh(ctx: RequestContext) -> None:
    """The context's ``refresh``: what Django has loaded since (the user, the route)."""
    if isinstance(ctx, _DjangoRequest):
        refresh_user(ctx.request, ctx)


class _DjangoRequest(RequestContext):
    """A request's context that keeps the request: its facts are read on first use, and
    receivers deep in a signal name its user."""

    request: HttpRequest
    # Every request's context reads its facts, and the late ones, the same way.
    load = staticmethod(_describe)
    refresh = staticmethod(_refresh)


def bound_request() -> HttpRequest | None:
    """The request behind the bound context (receivers deep in a signal name its user)."""
    ctx = current_request_context()
    return ctx.request if isinstance(ctx, _DjangoRequest) else None


def context_for(request: HttpRequest) -> RequestContext:
    """A bound-ready context for ``request``: the user agent now (the detectors read it
    when the request ends), the other facts when something first reads them."""
    meta = request.META
    pipeline = get_pipeline()
    ctx = _DjangoRequest.blank()
    ctx.request = request
    ctx.pipeline = pipeline
    agent = meta.get("HTTP_USER_AGENT")
    if agent is not None:
        ctx.user_agent = agent if len(agent) <= 512 else agent[:512]
    if "HTTP_X_FORWARDED_FOR" in meta or "HTTP_FORWARDED" in meta:
        ctx.load_facts()  # resolved now: an untrusted header is reported in any case
    else:
        cached, key = _forwarding
        if cached is not pipeline:
            key = _forwarding_key(pipeline)
        if key is not None and key in meta:
            ctx.load_facts()
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
