"""Naming objects without a query: ids read safely, names the app itself already loaded.

Groups and permissions are named in ``authz_change`` from instances the app loaded
(the admin's form, the app's own code): a bounded map filled by ``post_init`` and
``post_save``, read when ``m2m_changed`` gives only primary keys. An unknown
one is named ``<label>:<pk>``, never fetched.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["NameCache", "id_of"]

# The field holding each model's readable name, read from __dict__ (a deferred one costs no query).
_NAME_FIELDS = {"auth.group": "name", "auth.permission": "codename"}
_DEFAULT_FIELDS = ("name", "codename")


def id_of(obj: Any) -> str | None:
    """``str(obj.pk)``, or None when there is none or reading it fails."""
    try:
        pk = obj.pk
    except Exception:
        return None
    return None if pk is None else str(pk)


def _label(model: Any) -> str:
    try:
        return str(model._meta.label_lower)
    except Exception:
        return "object"


class NameCache:
    """Primary key -> name for users, groups and permissions, bounded (cleared when full)."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._names: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def remember(self, instance: Any) -> None:
        values = instance.__dict__
        label = _label(type(instance))
        pk = id_of(instance)
        field = _NAME_FIELDS.get(label)
        fields = (field,) if field else _DEFAULT_FIELDS
        name = next((values[f] for f in fields if isinstance(values.get(f), str)), None)
        self.remember_as(type(instance), pk, name)

    def remember_as(self, model: Any, pk: Any, name: Any) -> None:
        if pk is None or not isinstance(name, str):
            return
        with self._lock:
            if len(self._names) >= self._limit:
                self._names.clear()
            self._names[(_label(model), str(pk))] = name

    def known(self, model: Any, pk: Any) -> str | None:
        return self._names.get((_label(model), str(pk)))

    def name(self, model: Any, pk: Any) -> str:
        return self.known(model, pk) or f"{_label(model)}:{pk}"
