"""Signal receivers: Django's auth, user-model, admin-log and exception signals to events.

Each receiver is a one-liner's worth of translation; ``connect()`` (called from
``AppConfig.ready``) wires them with ``dispatch_uid`` so a second call is harmless.
Optional integrations (django-axes) are connected only when installed.
"""

from __future__ import annotations

import sys
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.signals import got_request_exception
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save

from seclog_core import current_request_context
from seclog_core.adapters import report_exception, report_failure

from ._emit import emit
from ._request import acting_user, bound_request, context_for, username_of

__all__ = ["connect"]

# Fields whose change is a security fact: (field, event, reason when set, reason when cleared).
_TRACKED = ("password", "is_active", "is_staff", "is_superuser")
_SNAPSHOT = "_seclog_snapshot"
_OPEN = "_seclog_open"
_EXCEPTION = "_seclog_exception"


def _target(user: Any) -> dict[str, object]:
    actor = username_of(_actor())
    return {
        "user.target.name": _plain_username(user),
        "user.target.id": str(user.pk) if getattr(user, "pk", None) is not None else None,
        "user.changes.name": actor,
    }


def _plain_username(user: Any) -> str | None:
    try:
        return str(user.get_username())
    except Exception:
        return None


def _actor() -> Any:
    return acting_user(bound_request())


# --- authentication -------------------------------------------------------------------


def _logged_in(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    ctx = current_request_context()
    name = username_of(user)
    if ctx is not None and name is not None:
        ctx.user_name = name
        ctx.user_id = str(user.pk)
    emit("authn_login_success", {"user.name": name, "user.id": str(user.pk) if name else None})


def _login_failed(sender: Any, credentials: Any = None, request: Any = None, **_: Any) -> None:
    # Django cleansed the credentials already; only the user name field is ever read.
    field = getattr(get_user_model(), "USERNAME_FIELD", "username")
    creds = credentials if isinstance(credentials, dict) else {}
    name = creds.get(field) or creds.get("username")
    emit(
        "authn_login_fail",
        {"user.name": str(name) if name else None, "security.reason": "bad_credentials"},
    )


def _logged_out(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
    name = username_of(user)
    emit("authn_logout", {"user.name": name, "user.id": str(user.pk) if name else None})


def _locked_out(sender: Any, request: Any = None, username: Any = None, **_: Any) -> None:
    emit(
        "authn_login_lock",
        {"user.name": str(username) if username else None, "security.reason": "too_many_failures"},
    )


# --- account lifecycle on the user model ----------------------------------------------


def _snapshot(sender: Any, instance: Any, **_: Any) -> None:
    # Read straight from __dict__: a deferred field must never cost a query.
    values = instance.__dict__
    instance.__dict__[_SNAPSHOT] = {name: values[name] for name in _TRACKED if name in values}


def _user_saved(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **_: Any
) -> None:
    before: dict[str, Any] = instance.__dict__.get(_SNAPSHOT) or {}
    _snapshot(sender, instance)
    if created:
        emit("user_created", _target(instance))
        return
    after = instance.__dict__[_SNAPSHOT]
    changed = {name for name in after if name in before and before[name] != after[name]}
    # set_password() keeps the raw value in _password until save() ends; a hasher
    # upgrade at login clears it first and saves only the password: not a change.
    raw_set = getattr(instance, "_password", None) is not None
    rehash = not raw_set and update_fields is not None and set(update_fields) == {"password"}
    if raw_set or ("password" in changed and not rehash):
        emit("authn_password_change", {**_target(instance), "security.reason": "password_set"})
    if "is_active" in changed:
        if after["is_active"]:
            emit("user_updated", {**_target(instance), "security.reason": "user_reactivated"})
        else:
            emit("user_archived", {**_target(instance), "security.reason": "user_deactivated"})
    for flag in ("is_staff", "is_superuser"):
        if flag in changed:
            verb = "granted" if after[flag] else "revoked"
            emit(
                "privilege_permissions_changed",
                {
                    **_target(instance),
                    "security.permission": flag,
                    "security.reason": f"{flag}_{verb}",
                },
            )


def _user_deleted(sender: Any, instance: Any, **_: Any) -> None:
    emit("user_deleted", _target(instance))


_M2M_VERBS = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}


def _m2m_changed(
    sender: Any,
    instance: Any,
    action: str = "",
    reverse: bool = False,
    model: Any = None,
    pk_set: Any = None,
    **_: Any,
) -> None:
    verb = _M2M_VERBS.get(action)
    if verb is None:
        return
    user_model = get_user_model()
    groups = getattr(getattr(user_model, "groups", None), "through", None)
    kind = "groups" if sender is groups else "user_permissions"
    if reverse:  # group.user_set.add(user): the users are in pk_set
        users = list(user_model._default_manager.filter(pk__in=pk_set or ()))
        granted = [str(instance)]
    else:
        users = [instance]
        granted = [str(obj) for obj in model._default_manager.filter(pk__in=pk_set or ())]
    for user in users:
        emit(
            "authz_change",
            {
                **_target(user),
                "security.permission": ", ".join(sorted(granted))[:512] or None,
                "security.reason": f"{kind}_{verb}",
            },
        )


# --- admin log ------------------------------------------------------------------------

_ADMIN_ACTIONS = {1: "addition", 2: "change", 3: "deletion"}


def _admin_logged(sender: Any, instance: Any, created: bool = False, **_: Any) -> None:
    if not created:
        return
    ctype = instance.content_type
    resource = f"{ctype.app_label}.{ctype.model}" if ctype is not None else None
    emit(
        "authz_admin",
        {
            "security.action": _ADMIN_ACTIONS.get(instance.action_flag, str(instance.action_flag)),
            "security.resource": resource,
            "security.object_id": None if instance.object_id is None else str(instance.object_id),
            "security.object": instance.object_repr,
            "security.changes": instance.get_change_message()[:512] or None,
            "user.changes.name": username_of(instance.user),
        },
    )


# --- unhandled exceptions -------------------------------------------------------------


def _request_exception(sender: Any, request: Any = None, **_: Any) -> None:
    exc = sys.exc_info()[1]
    if exc is None or request is None:
        return
    try:
        if request.__dict__.get(_OPEN):
            # The middleware is around this request: it reports with the final status.
            request.__dict__[_EXCEPTION] = exc
        else:
            report_exception(context_for(request), exc)
    except Exception as failure:
        report_failure("django.got_request_exception", failure)


def connect() -> None:
    """Connect every receiver (idempotent)."""
    user_logged_in.connect(_logged_in, dispatch_uid="seclog.logged_in")
    user_login_failed.connect(_login_failed, dispatch_uid="seclog.login_failed")
    user_logged_out.connect(_logged_out, dispatch_uid="seclog.logged_out")
    got_request_exception.connect(_request_exception, dispatch_uid="seclog.request_exception")

    user_model = get_user_model()
    post_init.connect(_snapshot, sender=user_model, dispatch_uid="seclog.user_init")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="seclog.user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="seclog.user_deleted")
    for relation in ("groups", "user_permissions"):
        field = getattr(user_model, relation, None)
        through = getattr(field, "through", None)
        if through is not None:
            m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"seclog.{relation}")

    if apps.is_installed("django.contrib.admin"):
        from django.contrib.admin.models import LogEntry

        post_save.connect(_admin_logged, sender=LogEntry, dispatch_uid="seclog.admin_log")
    if apps.is_installed("axes"):
        from axes.signals import user_locked_out  # type: ignore[import-untyped]

        user_locked_out.connect(_locked_out, dispatch_uid="seclog.axes_locked_out")
