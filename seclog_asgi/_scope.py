"""Read request facts from an ASGI scope, without importing any framework.

The peer and the few headers the core needs come from the raw scope at request
start; the route template and the user are filled in later by the framework
(Starlette's router sets ``scope["route"]``, its ``AuthenticationMiddleware``
sets ``scope["user"]``), so :func:`refresh_from_scope` reads them when an event
is emitted and when the response is finished.
"""

from __future__ import annotations

from typing import Any

from seclog_core import RequestContext
from seclog_core.adapters import Pipeline, describe_request, report_failure

from ._types import Scope

__all__ = [
    "ASGIRequest",
    "auth_middleware_rejected",
    "context_from_scope",
    "refresh_from_scope",
    "release_scope",
    "wanted_headers",
]

_WANTED = frozenset((b"forwarded", b"x-forwarded-for", b"user-agent", b"x-request-id", b"host"))


def _host_without_port(host: str | None) -> str | None:
    if not host:
        return None
    if host.startswith("["):  # [::1]:8000
        end = host.find("]")
        return host[1:end] if end > 0 else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def wanted_headers(forwarded_header: str) -> frozenset[bytes]:
    """The raw header names a request context is built from, with the operator's own one.

    ``forwarded_header`` is the pipeline's setting (``X-Real-IP``...); when it is not one
    of the always-read headers its value is passed to the core as ``forwarding``.
    """
    return _WANTED | {forwarded_header.strip().lower().encode("latin-1")}


def context_from_scope(
    scope: Scope, pipeline: Pipeline, wanted: frozenset[bytes]
) -> RequestContext:
    """A request context for an http or websocket scope (never raises).

    This runs on every request, and most requests emit nothing: it keeps the scope and
    reads only the user agent (the detectors look at it when the request ends), the
    method, path and peer (which the framework may rewrite later). The other facts are
    read when something first reads the context (:func:`_describe`), except that a
    request carrying a forwarding header is described now, so an untrusted one is
    reported even when nothing else happens. ``wanted`` is :func:`wanted_headers` of the
    pipeline's ``forwarded_header`` setting, worked out once by the middleware.
    """
    ctx = ASGIRequest.blank()
    ctx.scope = scope
    ctx.pipeline = pipeline
    ctx.wanted = wanted
    try:
        ctx.method = "GET" if scope["type"] == "websocket" else scope.get("method")
        ctx.path = scope.get("path")
        client = scope.get("client")
        peer = client[0] if client else None
        if peer and isinstance(peer, str):
            ctx.peer_address = peer
        forwarding = False
        for item in scope.get("headers") or ():
            name = item[0]
            if type(name) is not bytes:  # bytearray or memoryview from an unusual server
                name = bytes(name)
            if name not in wanted:
                # Servers lower-case names already (ASGI asks them to): lower only the rest.
                if name.islower() or not name.isascii():
                    continue
                name = name.lower()
                if name not in wanted:
                    continue
            if name == b"user-agent":
                value = item[1]
                agent = (value if type(value) is bytes else bytes(value)).decode("latin-1")
                ctx.user_agent = agent if len(agent) <= 512 else agent[:512]
            elif name != b"host" and name != b"x-request-id":
                forwarding = True
        if forwarding:
            ctx.load_facts()  # resolved now: an untrusted header is reported in any case
    except Exception as exc:
        report_failure("asgi.request_context", exc)
    return ctx


def _describe(ctx: RequestContext) -> None:
    """``ctx.load``: the request's facts, read from its scope on first use."""
    if not isinstance(ctx, ASGIRequest):
        return
    scope = ctx.scope if ctx.scope is not None else ctx.late_scope()
    wanted = ctx.wanted
    forwarded = x_forwarded_for = user_agent = request_id = host = forwarding = None
    xff: list[str] = []
    fwd: list[str] = []
    for item in scope.get("headers") or ():
        name = item[0]
        if type(name) is not bytes:
            name = bytes(name)
        if name not in wanted:
            if name.islower() or not name.isascii():
                continue
            name = name.lower()
            if name not in wanted:
                continue
        value = item[1]
        # latin-1 never fails to decode.
        value = (value if type(value) is bytes else bytes(value)).decode("latin-1")
        if name == b"x-forwarded-for":
            # Several headers form one list, in order (RFC 9110 field combination).
            xff.append(value)
        elif name == b"forwarded":
            fwd.append(value)
        elif name == b"user-agent":
            user_agent = value
        elif name == b"host":
            host = value
        elif name == b"x-request-id":
            request_id = value
        elif forwarding is None:  # the operator's other header: its first value
            forwarding = value
    if xff:
        x_forwarded_for = ", ".join(xff)
    if fwd:
        forwarded = ", ".join(fwd)
    websocket = scope.get("type") == "websocket"
    describe_request(
        ctx,
        method=ctx.method,
        path=ctx.path,
        peer=ctx.peer_address,
        forwarded=forwarded,
        x_forwarded_for=x_forwarded_for,
        forwarding=forwarding,
        user_agent=user_agent,
        request_id=request_id,
        scheme=scope.get("scheme") or ("ws" if websocket else "http"),
        server_address=_host_without_port(host),
        route=ctx.route,
    )


def _refresh(ctx: RequestContext) -> None:
    """``ctx.refresh``: what the framework has learned since (the route, the user)."""
    if isinstance(ctx, ASGIRequest):
        refresh_from_scope(ctx.scope if ctx.scope is not None else ctx.late_scope(), ctx)


# What loading and refreshing read: kept past the request instead of the whole scope.
_LATE_KEYS = (
    "type",
    "scheme",
    "headers",
    "route",
    "endpoint",
    "router",
    "user",
    "root_path",
    "app_root_path",
)
_ABSENT: Any = object()


class ASGIRequest(RequestContext):
    """An ASGI request's context: keeps the scope while the request runs.

    Every asyncio handle or task created during a request copies the context, this
    object with it (uvicorn's keep-alive timer holds it for seconds after the
    response). Held through here, the whole scope (state, the framework's per-request
    objects) would live as long, and the garbage collector of a busy server would run
    all the time. So :meth:`release` swaps the scope for a tuple of the few values
    loading and refreshing read: a late event (from a task the request started) still
    gets the facts, the route and the user the request ended with.
    """

    scope: Scope | None
    late: tuple[Any, ...]
    wanted: frozenset[bytes]
    load = staticmethod(_describe)
    refresh = staticmethod(_refresh)

    def late_scope(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in zip(_LATE_KEYS, self.late, strict=True)
            if value is not _ABSENT
        }

    def release(self) -> None:
        """The request is over: keep what loading and refreshing read, drop the scope."""
        scope = self.scope
        if scope is None:
            return
        get = scope.get
        # A tuple, not a dict: thousands of retained dicts defeat CPython's dict free
        # list and trigger a young-generation collection every hundred requests.
        self.late = (
            get("type", _ABSENT),
            get("scheme", _ABSENT),
            get("headers", _ABSENT),
            get("route", _ABSENT),
            get("endpoint", _ABSENT),
            get("router", _ABSENT),
            get("user", _ABSENT),
            get("root_path", _ABSENT),
            get("app_root_path", _ABSENT),
        )
        self.scope = None


def release_scope(ctx: RequestContext) -> None:
    """At the end of a request: ``ctx`` stops holding the scope (see ASGIRequest). Never raises."""
    if type(ctx) is ASGIRequest:
        try:
            ctx.release()
        except Exception:
            base: RequestContext = ctx  # the instance's own None over the class's hooks
            base.refresh = base.load = None


def _route_template(scope: Scope) -> str | None:
    route = scope.get("route")
    if route is None:
        return None
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return None
    # Inside a Mount, root_path grew by the mount's prefix; app_root_path is where it began.
    root_path = scope.get("root_path") or ""
    app_root_path = scope.get("app_root_path")
    if (
        isinstance(root_path, str)
        and isinstance(app_root_path, str)
        and root_path.startswith(app_root_path)
    ):
        template = root_path[len(app_root_path) :] + template
    return template


def _user(scope: Scope) -> tuple[str | None, str | None] | None:
    """(user id, user name) of an authenticated ``scope["user"]`` (Starlette's BaseUser)."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    name = getattr(user, "display_name", None)
    try:
        identity = getattr(user, "identity", None)
    except NotImplementedError:  # Starlette's BaseUser leaves identity abstract
        identity = None
    return (
        str(identity) if identity not in (None, "") else None,
        str(name) if name not in (None, "") else None,
    )


def _templates_of(routes: Any, endpoint: object, prefix: str, depth: int) -> list[str]:
    found: list[str] = []
    for route in routes or ():
        template = getattr(route, "path_format", None)
        if not isinstance(template, str):
            continue
        children = getattr(route, "routes", None)
        if children is not None:
            if depth < 4:  # Mount: its children are named under its prefix
                inner = prefix + template.removesuffix("/{path}")
                found += _templates_of(children, endpoint, inner, depth + 1)
        elif getattr(route, "endpoint", None) is endpoint:
            found.append(prefix + template)
    return found


def _route_by_endpoint(scope: Scope) -> str | None:
    """Starlette before 1.x sets no ``scope["route"]``: find the one route serving the endpoint."""
    endpoint = scope.get("endpoint")
    router = scope.get("router")
    if endpoint is None or router is None:
        return None
    found = _templates_of(getattr(router, "routes", None), endpoint, "", 0)
    return found[0] if len(found) == 1 else None


def refresh_from_scope(scope: Scope, ctx: RequestContext) -> None:
    """Copy what the framework has learned since the request started onto the context."""
    if "route" in scope:
        template = _route_template(scope)
        if template:
            ctx.route = template[:512]
    elif ctx.route is None and "endpoint" in scope:
        template = _route_by_endpoint(scope)
        if template:
            ctx.route = template[:512]
    if "user" in scope:
        user = _user(scope)
        if user is not None:
            user_id, user_name = user
            ctx.user_id = user_id[:256] if user_id else ctx.user_id
            ctx.user_name = user_name[:256] if user_name else ctx.user_name


def auth_middleware_rejected(scope: Scope) -> bool:
    """True when Starlette's AuthenticationMiddleware refused the request.

    It answers an ``AuthenticationError`` through ``on_error`` (400 by default) and
    never sets ``scope["user"]``; it is recognised by name on ``scope["app"]``'s
    middleware list, so no framework is imported.
    """
    if "user" in scope:
        return False
    app = scope.get("app")
    for middleware in getattr(app, "user_middleware", None) or ():
        cls = getattr(middleware, "cls", None)
        if getattr(cls, "__name__", "") == "AuthenticationMiddleware":
            return True
    return False
