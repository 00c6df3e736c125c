"""seclog core: security events as OpenTelemetry log records and spans.

Every event, from a framework adapter or from this manual API, is enriched
from the current request, scrubbed of secrets, sequenced and emitted as an
OpenTelemetry LogRecord named ``security.<type>`` plus a span event, then
watched by the detectors::

    import seclog_core as seclog
    seclog.login_failed(username="bob", reason="bad_credentials")
    seclog.emit("authz_fail", resource="/admin/export")
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._internal import failure_counts
    from .api import (
        FIELD_NAMES,
        access_denied,
        emit,
        login_failed,
        login_succeeded,
        logout,
        password_change_failed,
        password_changed,
        permissions_changed,
        rate_limited,
        token_created,
        token_revoked,
        user_created,
        user_deleted,
    )
    from .client_ip import TrustedProxies
    from .config import ConfigError, Settings
    from .context import (
        RequestContext,
        bind_request_context,
        current_request_context,
        request_context,
        reset_request_context,
    )
    from .detect import Alert, on_alert, remove_alert_callback
    from .events import SecurityEvent
    from .export import force_flush, shutdown
    from .log_scrubbing import RedactingFilter, RedactingLogRecordProcessor
    from .pipeline import Pipeline, configure, get_pipeline
    from .redact import Redactor
    from .vocabulary import (
        VOCABULARY,
        EventType,
        Severity,
        UnknownEventTypeError,
        register_event_type,
    )

# Loaded on first use: ``import seclog_core`` (the pytest plugin, ``seclog lint``,
# an app's settings module) costs nothing until an event is emitted or a pipeline built.
_LAZY: dict[str, str] = {
    "failure_counts": "_internal",
    "FIELD_NAMES": "api",
    "access_denied": "api",
    "emit": "api",
    "login_failed": "api",
    "login_succeeded": "api",
    "logout": "api",
    "password_change_failed": "api",
    "password_changed": "api",
    "permissions_changed": "api",
    "rate_limited": "api",
    "token_created": "api",
    "token_revoked": "api",
    "user_created": "api",
    "user_deleted": "api",
    "TrustedProxies": "client_ip",
    "ConfigError": "config",
    "Settings": "config",
    "RequestContext": "context",
    "bind_request_context": "context",
    "current_request_context": "context",
    "request_context": "context",
    "reset_request_context": "context",
    "Alert": "detect",
    "on_alert": "detect",
    "remove_alert_callback": "detect",
    "SecurityEvent": "events",
    "force_flush": "export",
    "shutdown": "export",
    "RedactingFilter": "log_scrubbing",
    "RedactingLogRecordProcessor": "log_scrubbing",
    "Pipeline": "pipeline",
    "configure": "pipeline",
    "get_pipeline": "pipeline",
    "Redactor": "redact",
    "VOCABULARY": "vocabulary",
    "EventType": "vocabulary",
    "Severity": "vocabulary",
    "UnknownEventTypeError": "vocabulary",
    "register_event_type": "vocabulary",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seclog_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


try:
    __version__ = version("seclog")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "FIELD_NAMES",
    "VOCABULARY",
    "Alert",
    "ConfigError",
    "EventType",
    "Pipeline",
    "RedactingFilter",
    "RedactingLogRecordProcessor",
    "Redactor",
    "RequestContext",
    "SecurityEvent",
    "Settings",
    "Severity",
    "TrustedProxies",
    "UnknownEventTypeError",
    "__version__",
    "access_denied",
    "bind_request_context",
    "configure",
    "current_request_context",
    "emit",
    "failure_counts",
    "force_flush",
    "get_pipeline",
    "login_failed",
    "login_succeeded",
    "logout",
    "on_alert",
    "password_change_failed",
    "password_changed",
    "permissions_changed",
    "rate_limited",
    "register_event_type",
    "remove_alert_callback",
    "request_context",
    "reset_request_context",
    "shutdown",
    "token_created",
    "token_revoked",
    "user_created",
    "user_deleted",
]
