"""Adopt the security logging an app already has: stdlib ``logging`` and structlog records.

Many apps log security facts as structured records, e.g.
``logger.warning("...", extra={"event_type": "login_failure", "username": u, "ip_address": ip})``.
:class:`SecLogHandler` (a ``logging.Handler``) and :class:`SecLogProcessor` (a structlog
processor) turn such records into seclog events through a :class:`BridgeMapping` (their event
names to the vocabulary, their field names to seclog's), so they get scrubbing, request
context, integrity and detection without a rewrite. Records that are not security events,
or whose event name the mapping does not know, pass untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .api import emit
from .vocabulary import VOCABULARY

__all__ = [
    "DEFAULT_EVENT_NAMES",
    "DEFAULT_FIELD_NAMES",
    "BridgeMapping",
    "SecLogHandler",
    "SecLogProcessor",
]

# Their event name -> seclog's. A name already in the vocabulary maps to itself.
DEFAULT_EVENT_NAMES: Mapping[str, str] = {
    "login_failure": "authn_login_fail",
    "login_failed": "authn_login_fail",
    "failed_login": "authn_login_fail",
    "authentication_failure": "authn_login_fail",
    "login_success": "authn_login_success",
    "login_succeeded": "authn_login_success",
    "login": "authn_login_success",
    "logout": "authn_logout",
    "account_locked": "authn_login_lock",
    "password_changed": "authn_password_change",
    "password_change_failed": "authn_password_change_fail",
    "access_denied": "authz_fail",
    "permission_denied": "authz_fail",
    "authorization_failure": "authz_fail",
    "forbidden": "authz_fail",
    "rate_limited": "excess_rate_limit_exceeded",
    "rate_limit_exceeded": "excess_rate_limit_exceeded",
    "csrf_failure": "input_validation_fail",
    "validation_failure": "input_validation_fail",
    "user_created": "user_created",
    "user_deleted": "user_deleted",
    "privilege_change": "privilege_permissions_changed",
    "token_revoked": "authn_token_revoked",
}

# Their field name -> seclog's attribute name (OpenTelemetry semantic conventions).
# Fields not listed go under ``security.<name>``, as with the manual API.
DEFAULT_FIELD_NAMES: Mapping[str, str] = {
    "username": "user.name",
    "user_name": "user.name",
    "user": "user.name",
    "login": "user.name",
    "email": "user.name",
    "user_id": "user.id",
    "userid": "user.id",
    "ip_address": "client.address",
    "ip": "client.address",
    "client_ip": "client.address",
    "remote_addr": "client.address",
    "user_agent": "user_agent.original",
    "path": "url.path",
    "url_path": "url.path",
    "method": "http.request.method",
    "route": "http.route",
    "status_code": "http.response.status_code",
    "reason": "security.reason",
    "resource": "security.resource",
    "request_id": "http.request.id",
    "target_user": "user.target.name",
}

# Attributes every LogRecord has: never fields of the event.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# structlog's own keys: the message and the level it adds.
_STRUCTLOG_KEYS = frozenset({"event", "level", "timestamp", "logger", "exc_info", "stack_info"})


@dataclass(frozen=True)
class BridgeMapping:
    """How records become events: where the event name is, and what names mean.

    ``event_keys``: the record fields holding the event name, first found wins.
    ``event_names``: their event names to vocabulary names (merged over the defaults
    unless ``replace_defaults``). ``field_names``: their field names to attribute names.
    ``drop_fields``: fields never carried (their own severity label, say).
    """

    event_keys: tuple[str, ...] = ("event_type", "security_event")
    event_names: Mapping[str, str] = field(default_factory=dict)
    field_names: Mapping[str, str] = field(default_factory=dict)
    drop_fields: frozenset[str] = frozenset({"severity", "event_category"})
    replace_defaults: bool = False

    def __post_init__(self) -> None:
        events = {} if self.replace_defaults else dict(DEFAULT_EVENT_NAMES)
        events.update(self.event_names)
        fields = {} if self.replace_defaults else dict(DEFAULT_FIELD_NAMES)
        fields.update(self.field_names)
        for theirs, ours in events.items():
            if ours not in VOCABULARY:
                raise ValueError(
                    f"event_names maps {theirs!r} to {ours!r}, which is not in seclog's "
                    "vocabulary (seclog_core.VOCABULARY; register_event_type() adds one)"
                )
        object.__setattr__(self, "event_names", events)
        object.__setattr__(self, "field_names", fields)

    def event_type(self, values: Mapping[str, Any]) -> str | None:
        """The vocabulary name for a record's fields, or None when it is not a security event."""
        for key in self.event_keys:
            name = values.get(key)
            if isinstance(name, str) and name:
                mapped = self.event_names.get(name, name)
                return mapped if mapped in VOCABULARY else None
        return None

    def attributes(self, values: Mapping[str, Any], skip: frozenset[str]) -> dict[str, Any]:
        """The record's own fields under seclog's attribute names."""
        result: dict[str, Any] = {}
        for key, value in values.items():
            if key in skip or key in self.event_keys or key in self.drop_fields or value is None:
                continue
            name = self.field_names.get(key, key if "." in key else f"security.{key}")
            result[name] = value
        return result


_reentry = threading.local()


def _emit(mapping: BridgeMapping, values: Mapping[str, Any], skip: frozenset[str]) -> bool:
    """Emit the event a record describes; False when the record is not a security event."""
    event_type = mapping.event_type(values)
    if event_type is None or getattr(_reentry, "active", False):
        return False
    _reentry.active = True  # seclog's own warnings must not come back through the bridge
    try:
        emit(event_type, attributes=mapping.attributes(values, skip))
    finally:
        _reentry.active = False
    return True


class SecLogHandler(logging.Handler):
    """A logging handler that turns security records into seclog events.

    Attach it next to your other handlers (it does not replace them)::

        logging.getLogger("myapp.security").addHandler(SecLogHandler())
    """

    def __init__(self, mapping: BridgeMapping | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.mapping = mapping or BridgeMapping()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "seclog" or record.name.startswith("seclog."):
            return
        try:
            values = dict(vars(record))
            values["security.source_logger"] = record.name
            _emit(self.mapping, values, _RECORD_ATTRIBUTES)
        except Exception:  # a logging handler reports its own failures, never raises
            self.handleError(record)


class SecLogProcessor:
    """A structlog processor that emits a seclog event for each security event dict.

    The event dict passes on unchanged, so the app's own output stays as it was::

        structlog.configure(processors=[SecLogProcessor(), ..., structlog.dev.ConsoleRenderer()])
    """

    __slots__ = ("mapping",)

    def __init__(self, mapping: BridgeMapping | None = None) -> None:
        self.mapping = mapping or BridgeMapping()

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        try:
            _emit(self.mapping, event_dict, _STRUCTLOG_KEYS)
        except Exception:  # never break the app's logging call
            logging.getLogger("seclog").warning(
                "seclog: the structlog bridge failed", exc_info=True
            )
        return event_dict
