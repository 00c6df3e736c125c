"""The manual API: emit security events from code no framework signal covers.

Token logins, custom authentication, FastAPI routes: call :func:`emit` or one
of the named helpers. Inside a request the context (client address, user,
route, ...) fills itself in; outside one, the event still goes out.

Friendly keyword names map to OpenTelemetry semantic-convention attributes
(``username`` -> ``user.name``); other keywords land under ``security.*``;
pass ``attributes={...}`` for exact names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._internal import guarded, report_failure
from .events import SecurityEvent
from .pipeline import get_pipeline

__all__ = [
    "FIELD_NAMES",
    "access_denied",
    "emit",
    "login_failed",
    "login_succeeded",
    "logout",
    "password_change_failed",
    "password_changed",
    "permissions_changed",
    "rate_limited",
    "token_created",
    "token_revoked",
    "user_created",
    "user_deleted",
]

# Keyword -> attribute name: a literal table so users can read what goes where.
FIELD_NAMES: Mapping[str, str] = {
    "username": "user.name",
    "user_name": "user.name",
    "user_id": "user.id",
    "reason": "security.reason",
    "resource": "security.resource",
    "permission": "security.permission",
    "status_code": "http.response.status_code",
    "client_address": "client.address",
    "method": "http.request.method",
    "route": "http.route",
    "path": "url.path",
    "user_agent": "user_agent.original",
    "target_user": "user.target.name",
    "target_user_id": "user.target.id",
    "changed_by": "user.changes.name",
    "retry_count": "security.retry_count",
    "rule": "security.rule",
    "key": "security.key",
    "count": "security.count",
    "window": "security.window_seconds",
    "token_id": "security.token_id",
    "session_id": "session.id",
    "auth_method": "security.auth_method",
}


def _attributes(fields: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in fields.items():
        if value is None:
            continue
        result[FIELD_NAMES.get(key, key if "." in key else f"security.{key}")] = value
    if extra is not None:
        if isinstance(extra, Mapping):
            with guarded("api.attributes"):
                result.update(extra)
        else:  # the app is never interrupted: reported, the event goes out without them
            report_failure("pipeline.attributes_not_a_mapping")
    return result


def emit(
    event_type: str,
    *,
    message: str | None = None,
    outcome: str | None = None,
    exception: BaseException | None = None,
    attributes: Mapping[str, Any] | None = None,
    **fields: Any,
) -> SecurityEvent | None:
    """Emit one vocabulary event; unknown types raise UnknownEventTypeError.

    Returns the event as it left (scrubbed), or None when it was suppressed.
    """
    return get_pipeline().emit(
        event_type,
        _attributes(fields, attributes),
        body=message,
        outcome=outcome,
        exception=exception,
    )


def login_succeeded(username: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A user logged in (``authn_login_success``)."""
    return emit("authn_login_success", username=username, **fields)


def login_failed(
    username: str | None = None, reason: str = "bad_credentials", **fields: Any
) -> SecurityEvent | None:
    """A login attempt failed (``authn_login_fail``); never pass the password."""
    return emit("authn_login_fail", username=username, reason=reason, **fields)


def logout(username: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A user logged out (``authn_logout``)."""
    return emit("authn_logout", username=username, **fields)


def access_denied(
    resource: str | None = None, reason: str = "permission_denied", **fields: Any
) -> SecurityEvent | None:
    """Access to a resource was denied (``authz_fail``)."""
    return emit("authz_fail", resource=resource, reason=reason, **fields)


def password_changed(username: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A password was changed (``authn_password_change``)."""
    return emit("authn_password_change", username=username, **fields)


def password_change_failed(
    username: str | None = None, reason: str = "invalid", **fields: Any
) -> SecurityEvent | None:
    """A password change failed (``authn_password_change_fail``)."""
    return emit("authn_password_change_fail", username=username, reason=reason, **fields)


def rate_limited(reason: str = "rate_limit", **fields: Any) -> SecurityEvent | None:
    """A client exceeded a rate limit (``excess_rate_limit_exceeded``)."""
    return emit("excess_rate_limit_exceeded", reason=reason, **fields)


def token_created(token_id: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A token (API key, JWT, refresh token) was issued (``authn_token_created``)."""
    return emit("authn_token_created", token_id=token_id, **fields)


def token_revoked(token_id: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A token was revoked (``authn_token_revoked``)."""
    return emit("authn_token_revoked", token_id=token_id, **fields)


def user_created(target_user: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A user account was created (``user_created``)."""
    return emit("user_created", target_user=target_user, **fields)


def user_deleted(target_user: str | None = None, **fields: Any) -> SecurityEvent | None:
    """A user account was deleted (``user_deleted``)."""
    return emit("user_deleted", target_user=target_user, **fields)


def permissions_changed(
    target_user: str | None = None, permission: str | None = None, **fields: Any
) -> SecurityEvent | None:
    """A user's privileges changed (``privilege_permissions_changed``)."""
    return emit(
        "privilege_permissions_changed", target_user=target_user, permission=permission, **fields
    )
