"""Optional field mappings for SIEMs that expect ECS or OCSF names.

Switched on by the ``ecs`` and ``ocsf`` settings. They add fields derived from
the event type and outcome only, never from attacker-controlled values.
"""

from __future__ import annotations

from .events import AttributeValue
from .vocabulary import EventType

__all__ = ["ecs_fields", "ocsf_fields"]

# ECS event.type by event-type prefix; first match wins.
_ECS_TYPES: tuple[tuple[str, list[str]], ...] = (
    ("authn_login", ["start"]),
    ("authn_logout", ["end"]),
    ("authn_password", ["change", "user"]),
    ("authn_token_created", ["creation"]),
    ("authn_token", ["deletion"]),
    ("authn_", ["info"]),
    ("authz_change", ["change"]),
    ("authz_admin", ["admin"]),
    ("authz_", ["denied"]),
    ("privilege_", ["change", "group"]),
    ("user_created", ["creation", "user"]),
    ("user_deleted", ["deletion", "user"]),
    ("user_", ["change", "user"]),
    ("session_created", ["start"]),
    ("session_expired", ["end"]),
    ("sys_error", ["error"]),
    ("alert_", ["indicator"]),
)

_OCSF_CLASS: tuple[tuple[str, int], ...] = (
    ("authn_password", 3001),  # Account Change
    ("authn_", 3002),  # Authentication
    ("authz_", 3003),  # Authorize Session
    ("privilege_", 3001),
    ("user_", 3001),
    ("session_", 3002),
    ("alert_", 2004),  # Detection Finding
)


def _lookup_types(name: str) -> list[str]:
    for prefix, value in _ECS_TYPES:
        if name.startswith(prefix):
            return value
    return ["info"]


def ecs_fields(event_type: EventType, outcome: str) -> dict[str, AttributeValue]:
    """ECS ``event.*`` fields for an event."""
    return {
        "event.kind": "alert" if event_type.is_alert else "event",
        "event.category": [event_type.category],
        "event.type": _lookup_types(event_type.name),
        "event.action": event_type.name,
        "event.outcome": outcome,
    }


def ocsf_fields(event_type: EventType, outcome: str) -> dict[str, AttributeValue]:
    """OCSF class, category, status and severity ids for an event."""
    class_uid = 4002  # HTTP Activity
    for prefix, uid in _OCSF_CLASS:
        if event_type.name.startswith(prefix):
            class_uid = uid
            break
    severity_id = {"INFO": 1, "WARN": 3, "ERROR": 4}[event_type.severity.text]
    status_id = {"success": 1, "failure": 2}.get(outcome, 0)
    return {
        "ocsf.class_uid": class_uid,
        "ocsf.category_uid": class_uid // 1000,
        "ocsf.status_id": status_id,
        "ocsf.severity_id": severity_id,
    }
