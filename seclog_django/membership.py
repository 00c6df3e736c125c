"""Group and permission membership changes made in code (``user.groups.add(...)``): opt-in.

Any ``m2m_changed`` receiver makes Django leave its fast path for ``add()``:
it then selects the rows already present before inserting, one query per call
that the app did not ask for. So seclog does not listen by default; changes
made in the admin are reported from the admin log instead (``admin_log``).
A site that wants every membership change, at that one query per ``add()``,
calls ``track()`` (e.g. in its own ``AppConfig.ready``)::

    from seclog_django import membership
    membership.track()

Groups, permissions and users are then named from instances the app itself
loaded (a bounded map filled by ``post_init``/``post_save``), never fetched.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models.signals import m2m_changed, post_init, post_save

from seclog_core.adapters import guarded

from ._emit import emit
from ._names import NameCache
from ._request import acting_user, bound_request, username_of

__all__ = ["names", "track", "tracking", "untrack"]

# Users (filled by the user-model receivers), groups and permissions the app loaded.
names = NameCache()
_VERBS = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}
_state = {"on": False}


def _changed(
    sender: Any,
    instance: Any,
    action: str = "",
    reverse: bool = False,
    model: Any = None,
    pk_set: Any = None,
    **_: Any,
) -> None:
    verb = _VERBS.get(action)
    if verb is None:
        return
    with guarded("django.m2m_changed"):
        from django.contrib.auth import get_user_model

        from .receivers import target_of

        groups = getattr(getattr(get_user_model(), "groups", None), "through", None)
        kind = "groups" if sender is groups else "user_permissions"
        ids = sorted(pk_set or (), key=str)
        if reverse:  # group.user_set.add(user): the users are ids in pk_set, the group is here
            names.remember(instance)
            granted = [names.name(type(instance), instance.pk)]
            actor = username_of(acting_user(bound_request()))
            targets: list[dict[str, object]] = [
                {
                    "user.target.id": str(pk),
                    "user.target.name": names.known(model, pk),
                    "user.changes.name": actor,
                }
                for pk in ids
            ]
        else:
            granted = [names.name(model, pk) for pk in ids]
            targets = [target_of(instance)]
        for target in targets:
            emit(
                "authz_change",
                {
                    **target,
                    "security.permission": ", ".join(sorted(granted))[:512] or None,
                    "security.reason": f"{kind}_{verb}",
                },
            )


def _loaded(sender: Any, instance: Any, **_: Any) -> None:
    with guarded("django.name_cache"):
        names.remember(instance)


def _throughs() -> list[Any]:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    found = []
    for relation in ("groups", "user_permissions"):
        through = getattr(getattr(user_model, relation, None), "through", None)
        if through is not None:
            found.append(through)
    return found


def track() -> None:
    """Report every group and permission change of users, made anywhere (idempotent)."""
    if not apps.is_installed("django.contrib.auth"):
        return
    from django.contrib.auth.models import Group, Permission

    for named in (Group, Permission):
        post_init.connect(_loaded, sender=named, dispatch_uid=f"seclog.names.{named.__name__}")
        post_save.connect(_loaded, sender=named, dispatch_uid=f"seclog.named.{named.__name__}")
    for through in _throughs():
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"seclog.m2m.{through}")
    _state["on"] = True


def untrack() -> None:
    """Stop reporting membership changes made in code (Django's fast ``add()`` again)."""
    if not apps.is_installed("django.contrib.auth"):
        return
    from django.contrib.auth.models import Group, Permission

    for named in (Group, Permission):
        post_init.disconnect(sender=named, dispatch_uid=f"seclog.names.{named.__name__}")
        post_save.disconnect(sender=named, dispatch_uid=f"seclog.named.{named.__name__}")
    for through in _throughs():
        m2m_changed.disconnect(sender=through, dispatch_uid=f"seclog.m2m.{through}")
    _state["on"] = False


def tracking() -> bool:
    """Whether ``track()`` is on (the admin log then leaves membership to it)."""
    return _state["on"]
