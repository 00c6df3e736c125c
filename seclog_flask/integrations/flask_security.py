"""Flask-Security(-Too): its authentication, account and two-factor signals as events.

Logins (``user_authenticated``, with ``security.auth_method`` from
``authn_via``), wrong credentials (``user_failed_authn``, Flask-Security-Too
5.8+), refused access, registrations, confirmations, password changes and
resets, and two-factor, passkey and identity changes map to vocabulary events.
A login form rejected without any signal (unknown user, disabled account,
missing field) is read from the response of the login view.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import current_app, request, session

from seclog_core.adapters import RequestContext, guarded

from .._events import emit_for_app, request_context_for, set_user
from .._state import SecLogState, state_of

__all__ = ["SIGNAL_EVENTS", "install"]

# signal name -> (event type, security.reason, the user is the account acted upon)
SIGNAL_EVENTS: dict[str, tuple[str, str | None, bool]] = {
    "user_registered": ("user_created", "registered", True),
    "user_confirmed": ("user_updated", "email_confirmed", False),
    "password_changed": ("authn_password_change", "password_changed", False),
    "password_reset": ("authn_password_change", "password_reset", False),
    "tf_code_confirmed": ("user_updated", "two_factor_confirmed", False),
    "tf_profile_changed": ("user_updated", "two_factor_changed", False),
    "tf_disabled": ("user_updated", "two_factor_disabled", False),
    "tf_security_token_sent": ("authn_token_created", "two_factor_code_sent", False),
    "us_profile_changed": ("user_updated", "unified_signin_changed", False),
    "wan_registered": ("user_updated", "passkey_registered", False),
    "wan_deleted": ("user_updated", "passkey_deleted", False),
    "username_changed": ("user_updated", "username_changed", False),
    "change_email_confirmed": ("user_updated", "email_changed", False),
    "refresh_tracker_created": ("authn_token_created", "refresh_token_created", False),
    "refresh_tracker_revoked": ("authn_token_revoked", "refresh_token_revoked", False),
}
_LOGIN_OUTCOMES = {"authn_login_success", "authn_login_fail", "authn_login_lock"}
_IDENTITY_FIELDS = ("email", "username", "identity")

_lock = threading.Lock()
_connected = False


def install(state: SecLogState) -> bool:
    try:
        from flask_security import signals
    except ImportError:
        return False
    state.response_inspectors.append(inspect_login_response)
    global _connected
    with _lock:
        if not _connected:
            _connect(signals)
            _connected = True
    return True


def _connect(signals: Any) -> None:
    # Older releases lack some signals: connect what this one offers.
    receivers: dict[str, Callable[..., None]] = {
        "user_authenticated": _on_authenticated,
        "user_failed_authn": _on_failed_authn,
        "user_unauthenticated": _on_unauthenticated,
    }
    receivers.update({name: _mapped(name) for name in SIGNAL_EVENTS})
    for name, receiver in receivers.items():
        signal = getattr(signals, name, None)
        if signal is not None:
            signal.connect(receiver, weak=False)


def _mapped(name: str) -> Callable[..., None]:
    event_type, reason, target = SIGNAL_EVENTS[name]

    def receiver(sender: Any, user: Any = None, method: Any = None, **_: Any) -> None:
        with guarded(f"flask_security.{name}"):
            fields: dict[str, object] = {"security.reason": reason}
            if isinstance(method, str):
                fields["security.auth_method"] = method
            emit_for_app(sender, event_type, fields, user=user, target=target)

    receiver.__name__ = f"_on_{name}"
    return receiver


def _on_authenticated(sender: Any, user: Any = None, authn_via: Any = None, **_: Any) -> None:
    with guarded("flask_security.user_authenticated"):
        state = state_of(sender)
        ctx = request_context_for(state) if state is not None else None
        if state is not None and ctx is not None:
            set_user(ctx, user, state)
        fields: dict[str, object] = {}
        if isinstance(authn_via, list | tuple) and authn_via:
            fields["security.auth_method"] = ",".join(str(item) for item in authn_via)
        emit_for_app(sender, "authn_login_success", fields, user=user)


def _on_failed_authn(
    sender: Any, user: Any = None, auth_type: Any = None, tfa: bool = False, **_: Any
) -> None:
    with guarded("flask_security.user_failed_authn"):
        fields: dict[str, object] = {
            "security.reason": "bad_second_factor" if tfa else "bad_credentials"
        }
        if isinstance(auth_type, str):
            fields["security.auth_method"] = auth_type
        emit_for_app(sender, "authn_login_fail", fields, user=user)


def _on_unauthenticated(sender: Any, **_: Any) -> None:
    with guarded("flask_security.user_unauthenticated"):
        emit_for_app(sender, "authn_fail", {"security.reason": "login_required"}, once=True)


def inspect_login_response(status: int, ctx: RequestContext, state: SecLogState) -> None:
    """A POST to the login view that neither logged in nor failed by signal was rejected."""
    if status >= 500 or request.method != "POST":
        return
    security = current_app.extensions.get("security")
    if security is None:
        return
    blueprint = getattr(security, "blueprint_name", "security")
    if request.endpoint != f"{blueprint}.login" or ctx.emitted & _LOGIN_OUTCOMES:
        return
    if "tf_user_id" in session:  # password accepted, second factor pending
        return
    emit_for_app(
        current_app,
        "authn_login_fail",
        {"security.reason": "login_rejected", "user.name": _posted_identity()},
    )


def _posted_identity() -> str | None:
    data: Any = request.form
    if not data and request.is_json:
        data = request.get_json(silent=True)
    if not isinstance(data, dict) and not hasattr(data, "get"):
        return None
    for name in _IDENTITY_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None
