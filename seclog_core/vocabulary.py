"""The event vocabulary: every security event type seclog knows, in one table.

Names follow the OWASP Logging Vocabulary; seclog adds a few where OWASP has no
word (`authn_fail`, `authn_logout`, `sys_error`, `authn_login_successafterfail`
and the detectors' alerts). Apps may register their own types; an unknown name
is refused with :class:`UnknownEventTypeError` rather than logged silently.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from opentelemetry._logs import SeverityNumber

__all__ = [
    "VOCABULARY",
    "EventType",
    "Outcome",
    "OwaspLevel",
    "Severity",
    "UnknownEventTypeError",
    "get_event_type",
    "register_event_type",
]

Outcome = Literal["success", "failure", "unknown"]
OwaspLevel = Literal["INFO", "WARN", "CRITICAL"]


class Severity(Enum):
    """Severity of an event on the wire: the OTel severity number and text."""

    INFO = (SeverityNumber.INFO, "INFO")
    WARN = (SeverityNumber.WARN, "WARN")
    ERROR = (SeverityNumber.ERROR, "ERROR")

    @property
    def number(self) -> SeverityNumber:
        return self.value[0]

    @property
    def text(self) -> str:
        return self.value[1]


class UnknownEventTypeError(ValueError):
    """Raised when an event type is neither in the vocabulary nor registered."""


@dataclass(frozen=True, slots=True)
class EventType:
    """One entry of the vocabulary."""

    name: str
    severity: Severity
    level: OwaspLevel
    outcome: Outcome
    description: str
    category: str  # ECS event.category: authentication, iam, web, session, ...
    is_alert: bool = False
    # Rare by nature (privilege changes, admin actions): never summarized by flood control.
    rare: bool = False


_I, _W, _E = Severity.INFO, Severity.WARN, Severity.ERROR

# name, severity, OWASP level, outcome, ECS category, description
_TABLE: tuple[tuple[str, Severity, OwaspLevel, Outcome, str, str], ...] = (
    # Authentication [AUTHN]
    ("authn_login_success", _I, "INFO", "success", "authentication", "A user logged in."),
    (
        "authn_login_successafterfail",
        _W,
        "WARN",
        "success",
        "authentication",
        "A user logged in after failed attempts on the same account.",
    ),
    ("authn_login_fail", _W, "WARN", "failure", "authentication", "A login attempt failed."),
    (
        "authn_login_fail_max",
        _E,
        "WARN",
        "failure",
        "authentication",
        "An account reached the maximum number of failed logins.",
    ),
    (
        "authn_login_lock",
        _W,
        "WARN",
        "failure",
        "authentication",
        "An account was locked after failed logins.",
    ),
    ("authn_password_change", _I, "INFO", "success", "iam", "A password was changed."),
    ("authn_password_change_fail", _W, "CRITICAL", "failure", "iam", "A password change failed."),
    (
        "authn_impossible_travel",
        _W,
        "CRITICAL",
        "unknown",
        "authentication",
        "A user appeared from two distant places too quickly.",
    ),
    ("authn_token_created", _I, "INFO", "success", "authentication", "A token was created."),
    ("authn_token_revoked", _I, "INFO", "success", "authentication", "A token was revoked."),
    (
        "authn_token_reuse",
        _W,
        "CRITICAL",
        "failure",
        "authentication",
        "A revoked token was used again.",
    ),
    ("authn_token_delete", _W, "WARN", "success", "authentication", "A token was deleted."),
    (
        "authn_fail",
        _W,
        "WARN",
        "failure",
        "authentication",
        "A request was rejected for missing or bad credentials (HTTP 401).",
    ),
    ("authn_logout", _I, "INFO", "success", "authentication", "A user logged out."),
    # Authorization [AUTHZ]
    ("authz_fail", _W, "CRITICAL", "failure", "iam", "Access to a resource was denied."),
    ("authz_change", _W, "WARN", "success", "iam", "A user's entitlements changed."),
    ("authz_admin", _W, "WARN", "success", "iam", "An administrator performed an action."),
    # Excessive use [EXCESS]
    (
        "excess_rate_limit_exceeded",
        _W,
        "WARN",
        "failure",
        "web",
        "A client exceeded a rate limit (HTTP 429).",
    ),
    # File upload [UPLOAD]
    ("upload_complete", _I, "INFO", "success", "file", "A file upload completed."),
    ("upload_stored", _I, "INFO", "success", "file", "An uploaded file was stored."),
    ("upload_validation", _W, "CRITICAL", "failure", "file", "An uploaded file failed validation."),
    ("upload_delete", _I, "INFO", "success", "file", "An uploaded file was deleted."),
    # Input validation [INPUT]
    (
        "input_validation_fail",
        _W,
        "WARN",
        "failure",
        "web",
        "Input failed server-side validation (CSRF, malformed data, ...).",
    ),
    # Malicious behaviour [MALICIOUS]
    (
        "malicious_excess_404",
        _E,  # a detector's alert: ERROR like every alert
        "WARN",
        "failure",
        "web",
        "A client requested many missing resources (scanning).",
    ),
    (
        "malicious_extraneous",
        _W,
        "CRITICAL",
        "failure",
        "web",
        "A request carried unexpected input a normal client never sends.",
    ),
    (
        "malicious_attack_tool",
        _E,  # a detector's alert: ERROR like every alert
        "CRITICAL",
        "failure",
        "web",
        "A request came from a known attack tool.",
    ),
    ("malicious_cors", _W, "CRITICAL", "failure", "web", "A request broke the CORS policy."),
    (
        "malicious_direct_reference",
        _W,
        "CRITICAL",
        "failure",
        "web",
        "A request referenced an object the user may not access.",
    ),
    # Privilege changes [PRIVILEGE]
    (
        "privilege_permissions_changed",
        _W,
        "WARN",
        "success",
        "iam",
        "A user's privileges or permissions changed.",
    ),
    # Sensitive data [DATA]
    ("sensitive_create", _I, "WARN", "success", "database", "Sensitive data was created."),
    ("sensitive_read", _I, "WARN", "success", "database", "Sensitive data was read."),
    ("sensitive_update", _I, "WARN", "success", "database", "Sensitive data was updated."),
    ("sensitive_delete", _I, "WARN", "success", "database", "Sensitive data was deleted."),
    # Sequence errors [SEQUENCE]
    (
        "sequence_fail",
        _W,
        "CRITICAL",
        "failure",
        "web",
        "A business flow was stepped through out of order.",
    ),
    # Session management [SESSION]
    ("session_created", _I, "INFO", "success", "session", "A session was created."),
    ("session_renewed", _I, "INFO", "success", "session", "A session was renewed."),
    ("session_expired", _I, "INFO", "success", "session", "A session expired."),
    (
        "session_use_after_expire",
        _W,
        "CRITICAL",
        "failure",
        "session",
        "An expired session was used.",
    ),
    # System events [SYSTEM]
    ("sys_startup", _I, "WARN", "success", "host", "The application started."),
    ("sys_shutdown", _I, "WARN", "success", "host", "The application shut down."),
    ("sys_restart", _I, "WARN", "success", "host", "The application restarted."),
    ("sys_crash", _E, "WARN", "failure", "host", "The application crashed."),
    ("sys_monitor_disabled", _W, "WARN", "failure", "host", "A monitoring agent was disabled."),
    ("sys_monitor_enabled", _I, "WARN", "success", "host", "A monitoring agent was enabled."),
    (
        "sys_checkpoint",
        _I,
        "INFO",
        "success",
        "host",
        "seclog's signed checkpoint: the stream's records so far are 1 to this one's sequence.",
    ),
    (
        "sys_error",
        _E,
        "WARN",
        "failure",
        "web",
        "The server failed to handle a request (HTTP 5xx or unhandled exception).",
    ),
    # User management [USER]
    ("user_created", _I, "WARN", "success", "iam", "A user account was created."),
    ("user_updated", _I, "WARN", "success", "iam", "A user account was updated."),
    ("user_archived", _I, "WARN", "success", "iam", "A user account was deactivated."),
    ("user_deleted", _W, "WARN", "success", "iam", "A user account was deleted."),
)

# Detector alerts: severity ERROR. Rule names are the part after "alert_".
_ALERTS: tuple[tuple[str, str], ...] = (
    ("alert_brute_force", "Many failed logins on one account."),
    ("alert_credential_stuffing", "Failed logins for many accounts from one client."),
    ("alert_distributed_brute_force", "Many clients failing on one account."),
    ("alert_authz_burst", "A burst of authorization failures from one user or client."),
    ("alert_scanning", "Many missing resources requested by one client."),
    ("alert_attack_tool", "A known attack tool's user agent."),
    ("alert_error_burst", "A burst of server errors."),
    ("security_events_summarized", "Identical events were summarized by flood control."),
    ("seclog_events_lost", "seclog could not deliver some security events."),
)

_RARE = frozenset(
    {
        "authn_password_change",
        "authn_password_change_fail",
        "authz_change",
        "authz_admin",
        "privilege_permissions_changed",
        "user_created",
        "user_deleted",
        "user_archived",
        "authn_login_lock",
        "authn_token_reuse",
        "authn_login_fail_max",
        "sys_checkpoint",  # flood control must never hold back a checkpoint
    }
)


def _build() -> dict[str, EventType]:
    table: dict[str, EventType] = {}
    for name, severity, level, outcome, category, description in _TABLE:
        table[name] = EventType(
            name, severity, level, outcome, description, category, rare=name in _RARE
        )
    for name, description in _ALERTS:
        alert = name != "security_events_summarized"
        table[name] = EventType(
            name,
            Severity.ERROR if alert else Severity.WARN,
            "CRITICAL" if alert else "WARN",
            "unknown",
            description,
            "intrusion_detection",
            is_alert=alert,
            rare=alert,
        )
    return table


VOCABULARY: dict[str, EventType] = _build()
# The types seclog itself defines; apps add theirs with register_event_type.
BUILT_IN_EVENT_TYPES: frozenset[str] = frozenset(VOCABULARY)
_lock = threading.Lock()
_NAME = re.compile(r"[a-z][a-z0-9_]{1,62}\Z")


def register_event_type(
    name: str,
    *,
    severity: Severity | str = Severity.WARN,
    level: OwaspLevel = "WARN",
    outcome: Outcome = "unknown",
    description: str = "",
    category: str = "web",
    rare: bool = False,
) -> EventType:
    """Add an app-specific event type; re-registering the same definition is a no-op."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"event type name {name!r} must be lower_snake_case, 2-63 characters, "
            "starting with a letter"
        )
    if isinstance(severity, str):
        try:
            severity = Severity[severity.upper()]
        except KeyError:
            raise ValueError(f"severity {severity!r} must be one of INFO, WARN, ERROR") from None
    if level not in ("INFO", "WARN", "CRITICAL"):
        raise ValueError(f"level {level!r} must be one of INFO, WARN, CRITICAL")
    if outcome not in ("success", "failure", "unknown"):
        raise ValueError(f"outcome {outcome!r} must be one of success, failure, unknown")
    entry = EventType(name, severity, level, outcome, description, category, rare=rare)
    with _lock:
        existing = VOCABULARY.get(name)
        if existing is not None and existing != entry:
            raise ValueError(f"event type {name!r} is already defined differently")
        VOCABULARY[name] = entry
    return entry


def get_event_type(name: str) -> EventType:
    """Look up an event type, accepting the wire form `security.<type>` too."""
    if isinstance(name, str) and name.startswith("security."):
        name = name[len("security.") :]
    try:
        return VOCABULARY[name]
    except (KeyError, TypeError):
        raise UnknownEventTypeError(
            f"unknown security event type {name!r}: use one of the vocabulary "
            "(seclog_core.VOCABULARY) or register it with seclog_core.register_event_type()"
        ) from None
