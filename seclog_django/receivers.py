"""Signal receivers: Django's auth, user-model and exception signals to events.

Each receiver is a one-liner's worth of translation, run inside ``guarded`` so a
failure in seclog (or in a user object whose attribute raises) is counted and
never reaches the app. ``connect()`` (called from ``AppConfig.ready``) wires
them with ``dispatch_uid`` so a second call is harmless; the auth parts only
when ``django.contrib.auth`` is installed. No receiver makes a database query
(group and permission changes: see ``membership``).
"""

from __future__ import annotations

import sys
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.signals import got_request_exception
from django.db.models.signals import post_delete, post_init, post_save

from seclog_core import current_request_context
from seclog_core.adapters import guarded, report_exception

from ._emit import emit
from ._names import id_of
from ._request import acting_user, bound_request, context_for, username_of
from .membership import names as _names
from .membership import tracking

__all__ = ["connect", "mark_reported", "was_reported"]

# Fields whose change is a security fact.
_TRACKED = ("password", "is_active", "is_staff", "is_superuser")
_SNAPSHOT = "_seclog_snapshot"
_OPEN = "_seclog_open"
_EXCEPTION = "_seclog_exception"
_REPORTED = "_seclog_reported"
_AUTH_METHOD = "_seclog_auth_method"


def mark_reported(event: str, user: Any) -> None:
    """Note on the request that ``event`` was emitted for ``user`` (integrations skip repeats)."""
    request = bound_request()
    if request is not None:
        request.__dict__.setdefault(_REPORTED, set()).add((event, id_of(user)))


def was_reported(event: str, user: Any) -> bool:
    """Whether ``event`` was already emitted for ``user`` during the bound request."""
    request = bound_request()
    seen: set[tuple[str, str | None]] = request.__dict__.get(_REPORTED, set()) if request else set()
    return (event, id_of(user)) in seen


def target_of(user: Any) -> dict[str, object]:
    """The target user's name and id, and who changed it (the request's loaded user)."""
    return {
        "user.target.name": username_of(user, authenticated=False),
        "user.target.id": id_of(user),
        "user.changes.name": username_of(acting_user(bound_request())),
    }


# --- authentication -------------------------------------------------------------------


def _logged_in(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    with guarded("django.logged_in"):
        ctx = current_request_context()
        name = username_of(user)
        uid = id_of(user)  # each fact on its own: an unreadable name still leaves the id
        if ctx is not None and name is not None:
            ctx.user_name = name
            ctx.user_id = uid
        method = getattr(request, "__dict__", {}).get(_AUTH_METHOD)
        emit(
            "authn_login_success",
            {"user.name": name, "user.id": uid, "security.auth_method": method},
        )


# Credential keys naming the account: the user model's USERNAME_FIELD first, then the
# common ones (django-allauth passes "email" or "username").
_NAME_KEYS = ("username", "email", "login")


# (AUTH_USER_MODEL, its USERNAME_FIELD): looked up once per user model, not per login.
_username_field: tuple[str, str] = ("", "username")


def _name_field() -> str:
    global _username_field
    label = settings.AUTH_USER_MODEL
    known, field = _username_field
    if known != label:
        from django.contrib.auth import get_user_model

        field = str(getattr(get_user_model(), "USERNAME_FIELD", "username"))
        _username_field = (label, field)
    return field


def _login_failed(sender: Any, credentials: Any = None, request: Any = None, **_: Any) -> None:
    with guarded("django.login_failed"):
        # Django cleansed the credentials already; only the user name field is ever read.
        field = _name_field()
        creds = credentials if isinstance(credentials, dict) else {}
        name = next((creds[k] for k in (field, *_NAME_KEYS) if creds.get(k)), None)
        emit(
            "authn_login_fail",
            {"user.name": str(name) if name else None, "security.reason": "bad_credentials"},
        )


def _logged_out(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    with guarded("django.logged_out"):
        name = username_of(user)
        emit("authn_logout", {"user.name": name, "user.id": id_of(user)})


# --- account lifecycle on the user model ----------------------------------------------


def _snapshot(sender: Any, instance: Any, **_: Any) -> None:
    with guarded("django.user_init"):
        # Read straight from __dict__: a deferred field must never cost a query.
        values = instance.__dict__
        values[_SNAPSHOT] = {name: values[name] for name in _TRACKED if name in values}
        if tracking():  # so group.user_set.add(pk) can name the user without a query
            field = getattr(sender, "USERNAME_FIELD", "username")
            _names.remember_as(sender, values.get(sender._meta.pk.attname), values.get(field))


def _user_saved(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **_: Any
) -> None:
    with guarded("django.user_saved"):
        before: dict[str, Any] = instance.__dict__.get(_SNAPSHOT) or {}
        _snapshot(sender, instance)
        if created:
            emit("user_created", target_of(instance))
            mark_reported("user_created", instance)
            return
        after = instance.__dict__.get(_SNAPSHOT) or {}
        changed = {name for name in after if name in before and before[name] != after[name]}
        # set_password() keeps the raw value in _password until save() ends; a hasher
        # upgrade at login clears it first and saves only the password: not a change.
        raw_set = instance.__dict__.get("_password") is not None
        rehash = not raw_set and update_fields is not None and set(update_fields) == {"password"}
        if raw_set or ("password" in changed and not rehash):
            emit(
                "authn_password_change", {**target_of(instance), "security.reason": "password_set"}
            )
            mark_reported("authn_password_change", instance)
        if "is_active" in changed:
            if after["is_active"]:
                emit("user_updated", {**target_of(instance), "security.reason": "user_reactivated"})
            else:
                emit(
                    "user_archived", {**target_of(instance), "security.reason": "user_deactivated"}
                )
        for flag in ("is_staff", "is_superuser"):
            if flag in changed:
                verb = "granted" if after[flag] else "revoked"
                emit(
                    "privilege_permissions_changed",
                    {
                        **target_of(instance),
                        "security.permission": flag,
                        "security.reason": f"{flag}_{verb}",
                    },
                )


def _user_deleted(sender: Any, instance: Any, **_: Any) -> None:
    with guarded("django.user_deleted"):
        emit("user_deleted", target_of(instance))


# --- unhandled exceptions -------------------------------------------------------------


def _request_exception(sender: Any, request: Any = None, **_: Any) -> None:
    exc = sys.exc_info()[1]
    if exc is None or request is None:
        return
    with guarded("django.got_request_exception"):
        if request.__dict__.get(_OPEN):
            # The middleware is around this request: it reports with the final status.
            request.__dict__[_EXCEPTION] = exc
        else:
            report_exception(context_for(request), exc)


def connect() -> None:
    """Connect every receiver (idempotent); the auth ones only with django.contrib.auth."""
    got_request_exception.connect(_request_exception, dispatch_uid="seclog.request_exception")
    if not apps.is_installed("django.contrib.auth"):
        return
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    user_logged_in.connect(_logged_in, dispatch_uid="seclog.logged_in")
    user_login_failed.connect(_login_failed, dispatch_uid="seclog.login_failed")
    user_logged_out.connect(_logged_out, dispatch_uid="seclog.logged_out")

    user_model = get_user_model()
    post_init.connect(_snapshot, sender=user_model, dispatch_uid="seclog.user_init")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="seclog.user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="seclog.user_deleted")
