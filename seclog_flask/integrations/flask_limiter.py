"""Flask-Limiter: a breached limit becomes ``excess_rate_limit_exceeded`` with the limit.

A 429 answered while one of the app's limiters marks a limit breached carries
``security.limit`` (e.g. ``2 per 1 minute``) and reason ``rate_limit_exceeded``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from seclog_core.adapters import RequestContext

from .._events import emit_for_app
from .._state import SecLogState

__all__ = ["breached_limit", "install"]


def install(state: SecLogState) -> bool:
    try:
        import flask_limiter  # noqa: F401 - presence check only
    except ImportError:
        return False
    state.response_inspectors.append(inspect_rate_limit)
    return True


def breached_limit() -> str | None:
    """The breached limit of this request, as text, from any of the app's limiters."""
    for limiter in current_app.extensions.get("limiter") or ():
        limits: list[Any] = list(getattr(limiter, "current_limits", None) or ())
        if not limits:
            limits = [getattr(limiter, "current_limit", None)]
        for limit in limits:
            if limit is not None and getattr(limit, "breached", False):
                return str(limit.limit)
    return None


def inspect_rate_limit(status: int, ctx: RequestContext, state: SecLogState) -> None:
    if status != 429 or "excess_rate_limit_exceeded" in ctx.emitted:
        return
    limit = breached_limit()
    if limit is not None:
        emit_for_app(
            current_app,
            "excess_rate_limit_exceeded",
            {
                "security.reason": "rate_limit_exceeded",
                "security.limit": limit,
                "http.response.status_code": 429,
            },
        )
