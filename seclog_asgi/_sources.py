"""Where an ASGI app's logins would be reported from, for ``seclog check --asgi``.

A login source is a login route seclog detects or was told about (see
:mod:`seclog_asgi._login`), or a route whose code calls seclog's login API
itself (``login_failed`` / ``login_succeeded`` / ``emit("authn_login_...")``),
found by reading the route's source. An app with none logs no login at all.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Literal

from ._login import LoginRoute, _walk, find_login_routes

__all__ = ["NO_LOGIN_SOURCE", "login_source_report", "login_sources"]

_MANUAL = re.compile(
    r"\b(?:login_failed|login_succeeded)\s*\(|[\"']authn_login_(?:success|fail)[\"']"
)


def _unwrap(app: Any) -> tuple[Any, tuple[str, ...]]:
    """The innermost routed app and the ``login_routes`` its SecurityLoggingMiddleware has."""
    from .middleware import SecurityLoggingMiddleware

    configured: tuple[str, ...] = ()
    node = app
    for _ in range(50):
        if isinstance(node, SecurityLoggingMiddleware):
            pipeline = getattr(node, "pipeline", None)
            if pipeline is not None:
                configured = pipeline.settings.login_routes
        for entry in getattr(node, "user_middleware", None) or ():
            if getattr(entry, "cls", None) is SecurityLoggingMiddleware:
                routes = (getattr(entry, "kwargs", None) or {}).get("login_routes") or ()
                configured = (routes,) if isinstance(routes, str) else tuple(routes)
        if getattr(node, "routes", None) is not None:
            return node, configured
        inner = getattr(node, "app", None)
        if inner is None or inner is node:
            break
        node = inner
    return node, configured


def _calls_login_api(function: object) -> bool:
    try:
        source = inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False
    return _MANUAL.search(source) is not None


def login_sources(app: Any, *, login_routes: tuple[str, ...] = ()) -> list[LoginRoute]:
    """Every login source of ``app``: detected or configured login routes, then routes
    whose code reports logins by hand. An empty list means no login is ever logged."""
    routed, configured = _unwrap(app)
    found = find_login_routes(routed, tuple(login_routes) or configured)
    known = {route.path for route in found}
    for path, route in _walk(getattr(routed, "routes", None), "", 0):
        endpoint = getattr(route, "endpoint", None)
        if path not in known and endpoint is not None and _calls_login_api(endpoint):
            found.append(LoginRoute(path, "calls seclog's login API", re.compile(re.escape(path))))
            known.add(path)
    return found


NO_LOGIN_SOURCE = (
    "no login source: no login route was detected (an OAuth2 password form, an "
    "OAuth2PasswordBearer tokenUrl) or configured (login_routes), and no route calls "
    "seclog_core.login_failed()/login_succeeded(); failed logins are not logged and the "
    "brute-force detectors cannot fire. Set login_routes=[...] or call the login API."
)


def login_source_report(app: Any) -> list[tuple[Literal["ok", "warning"], str]]:
    """``seclog check`` lines about ``app``'s login sources: one per source, or one warning."""
    try:
        sources = login_sources(app)
    except Exception as exc:  # an app seclog cannot read is a finding, not a crash
        return [("warning", f"login sources could not be read: {type(exc).__name__}: {exc}")]
    if not sources:
        return [("warning", NO_LOGIN_SOURCE)]
    return [("ok", f"login source: POST {found.path} ({found.source})") for found in sources]
