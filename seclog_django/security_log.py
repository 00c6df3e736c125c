"""What Django reports on its ``django.security.*`` loggers, as security events.

Django logs every ``SuspiciousOperation`` (``DisallowedHost``, tampered
sessions, oversized requests, ...) to ``django.security.<ExceptionName>`` and
every CSRF rejection to ``django.security.csrf``, whatever failure view the
site uses. A handler added next to the site's own handlers (never replacing
them) turns each record into an event with a machine reason.
"""

from __future__ import annotations

import logging
import re

from seclog_core import current_request_context
from seclog_core.adapters import report_failure

from ._emit import emit
from ._request import context_for

__all__ = ["CSRF_REASONS", "SUSPICIOUS_OPERATIONS", "SecurityLogHandler", "install"]

# Django's CSRF reason text (start of it) -> machine reason. Order matters: first match wins.
CSRF_REASONS: tuple[tuple[str, str], ...] = (
    ("csrf token missing", "csrf_token_missing"),
    ("csrf cookie not set", "csrf_cookie_not_set"),
    ("origin checking failed", "csrf_origin_mismatch"),
    ("referer checking failed", "csrf_referer_mismatch"),
    ("csrf token from", "csrf_token_incorrect"),
    ("csrf token incorrect", "csrf_token_incorrect"),
    ("csrf token has incorrect length", "csrf_token_incorrect"),
)

# Logger suffix (the exception class name) -> (event type, reason).
SUSPICIOUS_OPERATIONS: dict[str, tuple[str, str]] = {
    "DisallowedHost": ("malicious_extraneous", "disallowed_host"),
    "DisallowedRedirect": ("malicious_extraneous", "disallowed_redirect"),
    "DisallowedModelAdminLookup": ("malicious_extraneous", "disallowed_admin_lookup"),
    "DisallowedModelAdminToField": ("malicious_extraneous", "disallowed_admin_to_field"),
    "SuspiciousFileOperation": ("malicious_extraneous", "suspicious_file_operation"),
    "SuspiciousSession": ("malicious_extraneous", "suspicious_session"),
    "InvalidSessionKey": ("malicious_extraneous", "invalid_session_key"),
    "SuspiciousOperation": ("malicious_extraneous", "suspicious_operation"),
    "SuspiciousMultipartForm": ("input_validation_fail", "suspicious_multipart_form"),
    "RequestDataTooBig": ("input_validation_fail", "request_data_too_big"),
    "TooManyFieldsSent": ("input_validation_fail", "too_many_fields"),
    "TooManyFilesSent": ("input_validation_fail", "too_many_files"),
}

# Sites often silence a noisy child (django.security.DisallowedHost with propagate False),
# so the handler sits on each known child too; a record is handled once.
_LOGGERS = ("django.security", "django.security.csrf", *SUSPICIOUS_OPERATIONS)
_SEEN = "_seclog_seen"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def csrf_reason(text: str) -> str:
    """The machine reason for Django's CSRF rejection text."""
    lowered = text.lower()
    for prefix, reason in CSRF_REASONS:
        if lowered.startswith(prefix) or prefix in lowered:
            return reason
    return "csrf_failed"


class SecurityLogHandler(logging.Handler):
    """Turns ``django.security.*`` records into seclog events; never raises."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.__dict__.get(_SEEN):
            return
        record.__dict__[_SEEN] = True
        try:
            self._translate(record)
        except Exception as exc:
            report_failure("django.security_log", exc)

    def _translate(self, record: logging.LogRecord) -> None:
        request = getattr(record, "request", None)
        # Inside the middleware the bound context is used; outside it (a host rejected
        # by an earlier middleware) the record's request still says who asked.
        ctx = None
        if current_request_context() is None and request is not None:
            ctx = context_for(request)
        status = getattr(record, "status_code", None)
        suffix = record.name.rpartition(".")[2]
        attributes: dict[str, object] = {}
        if isinstance(status, int):
            attributes["http.response.status_code"] = status
        if record.name == "django.security.csrf":
            # Django logs "Forbidden (%s): %s" with (reason, path).
            args = record.args if isinstance(record.args, tuple) else ()
            text = str(args[0]) if args else record.getMessage()
            attributes["security.reason"] = csrf_reason(text)
            emit("input_validation_fail", attributes, context=ctx)
            return
        event, reason = SUSPICIOUS_OPERATIONS.get(
            suffix, ("malicious_extraneous", _snake(suffix) or "suspicious_operation")
        )
        attributes["security.reason"] = reason
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            attributes["exception.type"] = suffix
            attributes["exception.message"] = record.getMessage()
        emit(event, attributes, context=ctx, exception=exc)


def install() -> SecurityLogHandler:
    """Add one handler to the ``django.security`` loggers (idempotent)."""
    handler = next(
        (
            h
            for h in logging.getLogger("django.security").handlers
            if isinstance(h, SecurityLogHandler)
        ),
        None,
    ) or SecurityLogHandler(logging.NOTSET)
    for name in _LOGGERS:
        full = name if name.startswith("django.") else f"django.security.{name}"
        target = logging.getLogger(full)
        if handler not in target.handlers:
            target.addHandler(handler)
    return handler
