"""Django's admin log (``LogEntry``) to ``authz_admin`` events, without a single query.

Everything is read from the entry's own columns: the content type from
``ContentType``'s in-process cache (the admin filled it when it logged), the
actor from the request's already-loaded user when the ids match (else the id
only). Entries the admin writes with ``bulk_create`` (Django 5.1+ actions on
several objects, which send no ``post_save``) are reported by wrapping
``bulk_create`` of ``LogEntry``'s manager class only. Credential models never
send their ``str()`` (see ``_credentials``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps

from seclog_core.adapters import guarded

from ._credentials import KNOWN, is_credential, safe_object_id
from ._emit import emit
from ._names import id_of
from ._request import acting_user, bound_request, username_of
from .membership import tracking
from .settings import get_pipeline

__all__ = ["connect", "render_change_message", "report"]

_ACTIONS = {1: "addition", 2: "change", 3: "deletion"}
_REPORTED = "_seclog_reported"
_CAP = 512


def _cached_content_type(ct_id: Any) -> Any:
    """The ContentType for ``ct_id`` if the process already knows it, else None (no query)."""
    from django.contrib.contenttypes.models import ContentType

    manager = ContentType.objects
    cache = getattr(manager, "_cache", {}).get(manager.db, {})
    return cache.get(ct_id)


def _extra_credentials() -> tuple[str, ...]:
    return tuple(getattr(get_pipeline().settings, "credential_models", ()) or ())


@functools.lru_cache(maxsize=8)
def _credential_verbose_names(extra: tuple[str, ...]) -> frozenset[str]:
    names: set[str] = set()
    for label in KNOWN | set(extra):
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        names.update({str(model._meta.verbose_name).lower(), model._meta.model_name})
    return frozenset(names)


def _part(action: str, sub: Any, hidden: frozenset[str]) -> str:
    if not isinstance(sub, dict) or not sub:
        return f"{action.capitalize()}."
    name = str(sub.get("name") or "")
    shown = name.lower() not in hidden and "object" in sub
    what = f"{name} “{sub.get('object')}”" if shown else name
    if action == "changed":
        fields = sub.get("fields")
        listed = ", ".join(str(f) for f in fields) if isinstance(fields, list) else ""
        text = f"Changed {listed or 'nothing'}"
        return f"{text} for {what}." if name else f"{text}."
    return f"{action.capitalize()} {what}.".replace(" .", ".")


def render_change_message(message: Any, extra: Iterable[str] = ()) -> str | None:
    """A short summary of a LogEntry's change message; inline objects of credential
    models are named by kind only. Tolerates any shape (dict, list, text)."""
    if message is None or message == "":
        return None
    if isinstance(message, str):
        text: str = message
        if not text.startswith("["):
            return text[:_CAP]
        try:
            message = json.loads(text)
        except ValueError:
            return text[:_CAP]
    hidden = _credential_verbose_names(tuple(extra))
    if isinstance(message, dict):
        message = [message]
    if not isinstance(message, list):
        return str(type(message).__name__)
    parts: list[str] = []
    for entry in message:
        if not isinstance(entry, dict):
            continue
        for action in ("added", "changed", "deleted"):
            if action in entry:
                parts.append(_part(action, entry[action], hidden))
        if not any(a in entry for a in ("added", "changed", "deleted")) and entry:
            parts.append("Changed " + ", ".join(sorted(str(k) for k in entry)) + ".")
    return " ".join(parts)[:_CAP] or None


def _actor(user_id: Any) -> dict[str, object]:
    user = acting_user(bound_request())
    same = user is not None and user_id is not None and id_of(user) == str(user_id)
    return {
        "user.changes.name": username_of(user) if same else None,
        "user.changes.id": None if user_id is None else str(user_id),
    }


def report(entry: Any) -> None:
    """Emit ``authz_admin`` for one LogEntry (once), from its own columns only."""
    values = entry.__dict__
    if values.get(_REPORTED):
        return
    values[_REPORTED] = True
    extra = _extra_credentials()
    ctype = _cached_content_type(values.get("content_type_id"))
    model = ctype.model_class() if ctype is not None else None
    object_id = values.get("object_id")
    if model is None:
        # Unknown kind (not in the cache, or a removed model): its repr might be a secret.
        resource = f"{ctype.app_label}.{ctype.model}" if ctype is not None else None
        shown_repr, shown_id = None, None
    elif is_credential(model, extra):
        resource = model._meta.label_lower
        shown_id = safe_object_id(model, object_id)
        shown_repr = f"{resource} {shown_id}" if shown_id else resource
    else:
        resource = model._meta.label_lower
        shown_repr = values.get("object_repr")
        shown_id = None if object_id is None else str(object_id)
    flag = values.get("action_flag")
    emit(
        "authz_admin",
        {
            "security.action": _ACTIONS.get(flag, str(flag)),
            "security.resource": resource,
            "security.object_id": shown_id,
            "security.object": shown_repr,
            "security.changes": render_change_message(values.get("change_message"), extra),
            **_actor(values.get("user_id")),
        },
    )
    _membership(values, model, shown_id)


def _changed_fields(message: Any) -> set[str]:
    if isinstance(message, str) and message.startswith("["):
        try:
            message = json.loads(message)
        except ValueError:
            return set()
    entries = message if isinstance(message, list) else [message]
    fields: set[str] = set()
    for entry in entries:
        changed = entry.get("changed") if isinstance(entry, dict) else None
        listed = changed.get("fields") if isinstance(changed, dict) else None
        if isinstance(listed, list):
            fields.update(str(f).lower() for f in listed)
    return fields


def _relations(model: Any) -> dict[str, str]:
    """Label of each many-to-many field that grants rights -> the machine reason."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    wanted = {"groups": "groups_changed", "user_permissions": "user_permissions_changed"}
    if model is Group:
        wanted = {"permissions": "group_permissions_changed"}
    elif model is not get_user_model():
        return {}
    found = {}
    for name, reason in wanted.items():
        try:
            found[str(model._meta.get_field(name).verbose_name).lower()] = reason
        except Exception:  # noqa: S112 - a custom user model without the relation
            continue
    return found


def _membership(values: dict[str, Any], model: Any, shown_id: str | None) -> None:
    # The admin's change message lists the changed fields: a group or permission change is
    # authz_change, named from the entry (which groups: membership.track() knows).
    if model is None or tracking() or not apps.is_installed("django.contrib.auth"):
        return
    changed = _changed_fields(values.get("change_message"))
    reasons = [reason for label, reason in _relations(model).items() if label in changed]
    if not reasons:
        return
    from django.contrib.auth.models import Group

    target: dict[str, object]
    if model is Group:
        target = {"security.resource": "auth.group", "security.object": values.get("object_repr")}
    else:
        target = {"user.target.name": values.get("object_repr"), "user.target.id": shown_id}
    for reason in reasons:
        emit(
            "authz_change",
            {**target, **_actor(values.get("user_id")), "security.reason": reason},
        )


def _logged(sender: Any, instance: Any, created: bool = False, **_: Any) -> None:
    if not created:
        return
    with guarded("django.admin_log"):
        report(instance)


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    # bulk_create, not log_actions: a frame added there would move the stack level of the
    # deprecation warnings log_actions gives (Django's own suite checks it).
    @functools.wraps(original)
    def bulk_create(self: Any, objs: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, objs, *args, **kwargs)
        for entry in result:
            with guarded("django.admin_log.bulk"):
                report(entry)  # bulk_create sends no post_save
        return result

    bulk_create.__dict__["_seclog"] = True
    return bulk_create


def connect() -> None:
    """Report admin log entries (idempotent); nothing without the admin and contenttypes."""
    if not (
        apps.is_installed("django.contrib.admin")
        and apps.is_installed("django.contrib.contenttypes")
    ):
        return
    from django.contrib.admin.models import LogEntry
    from django.db.models.signals import post_save

    post_save.connect(_logged, sender=LogEntry, dispatch_uid="seclog.admin_log")
    manager = type(LogEntry.objects)
    original = getattr(manager, "bulk_create", None)
    if callable(original) and not getattr(original, "_seclog", False):
        manager.bulk_create = _wrap(original)
