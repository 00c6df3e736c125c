"""Flask-WTF: a request refused by ``CSRFProtect`` becomes ``input_validation_fail``.

Flask gives no signal for a handled ``CSRFError``, so after a state-changing
request that ``CSRFProtect`` did not mark valid, the check is run again
(through its public ``protect``) to read the error; the reason is
``csrf_token_missing``, ``csrf_token_expired``, ``csrf_token_invalid`` or
``csrf_referrer_invalid``. Whatever handler answered, the event goes out.
"""

from __future__ import annotations

import inspect
from typing import Any

from flask import current_app, g, request

from seclog_core.adapters import RequestContext

from .._events import emit_for_app
from .._state import SecLogState

__all__ = ["csrf_reason", "install"]

# Words of the error description -> reason, first match wins.
_REASONS: tuple[tuple[str, str], ...] = (
    ("referrer", "csrf_referrer_invalid"),
    ("expired", "csrf_token_expired"),
    ("missing", "csrf_token_missing"),
)


def install(state: SecLogState) -> bool:
    try:
        import flask_wtf.csrf  # type: ignore[import-untyped]  # noqa: F401 - presence check
    except ImportError:
        return False
    state.response_inspectors.append(inspect_csrf)
    return True


def csrf_reason(description: str | None) -> str:
    """The reason token for a CSRFError description."""
    text = (description or "").lower()
    for word, reason in _REASONS:
        if word in text:
            return reason
    return "csrf_token_invalid"


def inspect_csrf(status: int, ctx: RequestContext, state: SecLogState) -> None:
    app = state.app if state.app is not None else current_app
    csrf = app.extensions.get("csrf")
    if csrf is None or status == 429 or status >= 500:
        return
    config = app.config
    # Cheapest first: most responses answer a method CSRFProtect does not check.
    if request.method not in config.get("WTF_CSRF_METHODS", ()):
        return
    if not config.get("WTF_CSRF_ENABLED", True) or not config.get("WTF_CSRF_CHECK_DEFAULT", True):
        return
    if g.get("csrf_valid"):
        return
    if "input_validation_fail" in ctx.emitted:
        return
    from flask_wtf.csrf import CSRFError

    try:
        _protect(csrf)
    except CSRFError as error:
        emit_for_app(
            current_app,
            "input_validation_fail",
            {
                "security.reason": csrf_reason(error.description),
                "http.response.status_code": status,
            },
        )


def _protect(csrf: Any) -> None:
    if "apply_exemptions" in inspect.signature(csrf.protect).parameters:
        csrf.protect(apply_exemptions=True)
        return
    # Flask-WTF < 1.3 applies exemptions in its before_request hook, not in protect().
    if not request.endpoint:
        return
    if current_app.blueprints.get(request.blueprint or "") in getattr(
        csrf, "_exempt_blueprints", ()
    ):
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and f"{view.__module__}.{view.__name__}" in getattr(
        csrf, "_exempt_views", ()
    ):
        return
    csrf.protect()
