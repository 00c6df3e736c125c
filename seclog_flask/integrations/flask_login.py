"""Flask-Login: logins, logouts, remember-cookie logins and refused access as events.

``user_logged_in`` -> ``authn_login_success``; ``user_loaded_from_cookie`` ->
``authn_login_success`` (``security.auth_method=remember_cookie``);
``user_logged_out`` -> ``authn_logout``; ``user_unauthorized`` and
``user_needs_refresh`` -> ``authn_fail`` (``login_required`` /
``fresh_login_required``). The user the app has loaded joins every event.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import g, has_app_context

from seclog_core.adapters import guarded

from .._events import emit_for_app, request_context_for, set_user
from .._state import SecLogState, state_of

__all__ = ["install"]

_lock = threading.Lock()
_connected = False


def install(state: SecLogState) -> bool:
    try:
        import flask_login  # type: ignore[import-untyped]
    except ImportError:
        return False
    state.user_sources.append(loaded_user)
    global _connected
    with _lock:
        if not _connected:
            flask_login.user_logged_in.connect(_on_logged_in, weak=False)
            flask_login.user_loaded_from_cookie.connect(_on_loaded_from_cookie, weak=False)
            flask_login.user_logged_out.connect(_on_logged_out, weak=False)
            flask_login.user_unauthorized.connect(_on_unauthorized, weak=False)
            flask_login.user_needs_refresh.connect(_on_needs_refresh, weak=False)
            _connected = True
    return True


def loaded_user() -> object | None:
    """The user Flask-Login has loaded for this request, without loading one."""
    user: object | None = None
    with guarded("flask_login.loaded_user"):
        user = g.get("_login_user") if has_app_context() else None
    return user


def _remember(sender: Any, user: Any) -> None:
    state = state_of(sender)
    ctx = request_context_for(state) if state is not None else None
    if state is not None and ctx is not None:
        set_user(ctx, user, state)


def _on_logged_in(sender: Any, user: Any = None, **_: Any) -> None:
    with guarded("flask_login.logged_in"):
        _remember(sender, user)
        # Flask-Security reports its logins itself, with how the user authenticated.
        if "security" not in getattr(sender, "extensions", {}):
            emit_for_app(sender, "authn_login_success", user=user)


def _on_loaded_from_cookie(sender: Any, user: Any = None, **_: Any) -> None:
    with guarded("flask_login.loaded_from_cookie"):
        _remember(sender, user)
        emit_for_app(
            sender, "authn_login_success", {"security.auth_method": "remember_cookie"}, user=user
        )


def _on_logged_out(sender: Any, user: Any = None, **_: Any) -> None:
    with guarded("flask_login.logged_out"):
        emit_for_app(sender, "authn_logout", user=user)
        state = state_of(sender)
        ctx = request_context_for(state) if state is not None else None
        if ctx is not None:
            ctx.user_id = ctx.user_name = None


def _on_unauthorized(sender: Any, **_: Any) -> None:
    with guarded("flask_login.unauthorized"):
        emit_for_app(sender, "authn_fail", {"security.reason": "login_required"}, once=True)


def _on_needs_refresh(sender: Any, **_: Any) -> None:
    with guarded("flask_login.needs_refresh"):
        emit_for_app(sender, "authn_fail", {"security.reason": "fresh_login_required"}, once=True)
