"""Read request facts from an ASGI scope, without importing any framework.

The peer and the few headers the core needs come from the raw scope at request
start; the route template and the user are filled in later by the framework
(Starlette's router sets ``scope["route"]``, its ``AuthenticationMiddleware``
sets ``scope["user"]``), so :func:`refresh_from_scope` reads them when an event
is emitted and when the response is finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from seclog_core import RequestContext
from seclog_core.adapters import Pipeline, start_request

from ._types import Scope

__all__ = ["auth_middleware_rejected", "context_from_scope", "refresh_from_scope"]

_WANTED = frozenset((b"forwarded", b"x-forwarded-for", b"user-agent", b"x-request-id", b"host"))


@dataclass(slots=True)
class _Headers:
    forwarded: str | None = None
    x_forwarded_for: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    host: str | None = None


def _read_headers(raw: Any) -> _Headers:
    """One pass over the raw header list; latin-1 never fails to decode."""
    found = _Headers()
    if not raw:
        return found
    # Repeated forwarding headers are collected and joined once: linear in their count.
    xff: list[str] = []
    fwd: list[str] = []
    for item in raw:
        name = item[0]
        if type(name) is not bytes:  # bytearray or memoryview from an unusual server
            name = bytes(name)
        if name not in _WANTED:
            # Servers lower-case names already (ASGI asks them to): lower only the rest.
            if name.islower() or not name.isascii():
                continue
            name = name.lower()
            if name not in _WANTED:
                continue
        raw_value = item[1]
        value = (raw_value if type(raw_value) is bytes else bytes(raw_value)).decode("latin-1")
        if name == b"x-forwarded-for":
            # Several headers form one list, in order (RFC 9110 field combination).
            xff.append(value)
        elif name == b"forwarded":
            fwd.append(value)
        elif name == b"user-agent":
            found.user_agent = value
        elif name == b"x-request-id":
            found.request_id = value
        else:
            found.host = value
    if xff:
        found.x_forwarded_for = ", ".join(xff)
    if fwd:
        found.forwarded = ", ".join(fwd)
    return found


def _host_without_port(host: str | None) -> str | None:
    if not host:
        return None
    if host.startswith("["):  # [::1]:8000
        end = host.find("]")
        return host[1:end] if end > 0 else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


@lru_cache(maxsize=16)
def _extra_header(setting: str) -> bytes | None:
    """The forwarding header's raw name when _read_headers does not read it already."""
    name = setting.strip().lower().encode("latin-1")
    return None if name in _WANTED else name


def _forwarding(scope: Scope, pipeline: Pipeline) -> str | None:
    """The operator's forwarding header when it is not one _read_headers reads (X-Real-IP)."""
    name = _extra_header(pipeline.settings.forwarded_header)  # once per setting, not request
    if name is None:
        return None
    for item in scope.get("headers") or ():
        if bytes(item[0]).lower() == name:
            return bytes(item[1]).decode("latin-1")
    return None


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    if client:
        host = client[0]
        if isinstance(host, str) and host:
            return host
    return None


def context_from_scope(scope: Scope, pipeline: Pipeline) -> RequestContext:
    """A request context for an http or websocket scope (never raises)."""
    try:
        headers = _read_headers(scope.get("headers"))
        is_websocket = scope["type"] == "websocket"
        ctx = start_request(
            method="GET" if is_websocket else scope.get("method"),
            path=scope.get("path"),
            peer=_peer(scope),
            forwarded=headers.forwarded,
            x_forwarded_for=headers.x_forwarded_for,
            forwarding=_forwarding(scope, pipeline),
            user_agent=headers.user_agent,
            request_id=headers.request_id,
            scheme=scope.get("scheme") or ("ws" if is_websocket else "http"),
            server_address=_host_without_port(headers.host),
            pipeline=pipeline,
        )
    except Exception:
        ctx = RequestContext(pipeline=pipeline)
    ctx.refresh = partial(refresh_from_scope, scope)
    return ctx


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
