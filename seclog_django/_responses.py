"""Facts a response carries beyond its status: Django REST framework's error codes.

DRF answers ``NotAuthenticated`` with 403 under session authentication, which
the status alone would call an authorization failure. Its responses say what
happened (``response.data["detail"].code``); reading them needs no DRF import,
so this costs nothing on sites without DRF.
"""

from __future__ import annotations

from typing import Any

from seclog_core import RequestContext

from ._emit import emit

__all__ = ["DRF_CODES", "explain_response"]

# DRF error code -> (event type, reason).
DRF_CODES: dict[str, tuple[str, str]] = {
    "not_authenticated": ("authn_fail", "not_authenticated"),
    "authentication_failed": ("authn_fail", "authentication_failed"),
    "permission_denied": ("authz_fail", "permission_denied"),
    "throttled": ("excess_rate_limit_exceeded", "throttled"),
}


def explain_response(response: Any, ctx: RequestContext) -> None:
    """Emit the event a DRF error response stands for, before the status fallback runs."""
    if not getattr(response, "exception", False):
        return
    data = getattr(response, "data", None)
    detail = data.get("detail") if isinstance(data, dict) else None
    code = getattr(detail, "code", None)
    mapped = DRF_CODES.get(code) if isinstance(code, str) else None
    if mapped is None:
        return
    event, reason = mapped
    if event == "authn_fail" and "authn_login_fail" in ctx.emitted:
        return  # the backend's failed authenticate() already said it, with the user name
    emit(
        event,
        {"security.reason": reason, "http.response.status_code": response.status_code},
        context=ctx,
    )
