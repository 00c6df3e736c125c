"""Scrubbing for the application's own logs, with the same rules as seclog's events.

`RedactingFilter` is a `logging.Filter` for any handler; `RedactingLogRecordProcessor`
is an OpenTelemetry log processor. Add the processor to the LoggerProvider
*before* the exporting processor, since processors run in the order they were added::

    provider.add_log_record_processor(RedactingLogRecordProcessor())
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord

from seclog_core._text import safe_str
from seclog_core.redact import REDACTED, Redactor

__all__ = ["RedactingFilter", "RedactingLogRecordProcessor"]

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS: frozenset[str] = frozenset(
    {
        *vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)),
        "message",
        "asctime",
        "taskName",
    }
)


class RedactingFilter(logging.Filter):
    """Scrubs each record's message, `extra` values and traceback text; never drops a record.

    The message is formatted once and stored in ``record.msg`` with
    ``record.args = None``, as one line (newlines are escaped). Tracebacks keep
    their line breaks; only secrets are cut out of them.
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self.redactor = redactor if redactor is not None else Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._scrub(record)
        except Exception:
            record.msg, record.args = REDACTED, None
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        redactor = self.redactor
        try:
            message = record.getMessage()
        except Exception:
            message = safe_str(record.msg)  # broken %-format: keep what the app wrote
        record.msg = redactor.scrub_text(message)
        record.args = None
        for name, value in list(vars(record).items()):
            if name in _STANDARD_ATTRS:
                continue
            if redactor.is_sensitive_key(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, str):
                setattr(record, name, redactor.scrub_text(value))
            elif isinstance(value, (Mapping, list, tuple, set, frozenset, bytes)):
                setattr(record, name, redactor.redact_value(name, value))
        if record.exc_info and not record.exc_text:
            # Formatters cache the traceback here and reuse it, so scrubbing it once suffices.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.scrub_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.scrub_secrets(record.stack_info)


class RedactingLogRecordProcessor(LogRecordProcessor):
    """Scrubs the body and attributes of every OpenTelemetry log record, in place.

    A record that cannot be scrubbed leaves with body `REDACTED` and no attributes.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor if redactor is not None else Redactor()

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        try:
            body = record.body
            if isinstance(body, str):
                record.body = self.redactor.scrub_text(body)
            elif body is not None:
                record.body = self.redactor.redact_value(None, body)
            attributes = record.attributes
            if attributes:
                clean = self.redactor.redact_attributes(attributes)
                try:
                    # The SDK wraps attributes in a mutable BoundedAttributes that keeps
                    # its limits; refill it rather than replacing it.
                    if not isinstance(attributes, MutableMapping):
                        raise TypeError("read-only attributes")
                    attributes.clear()
                    attributes.update(clean)
                except TypeError:
                    record.attributes = clean
        except Exception:
            record.body = REDACTED
            record.attributes = {}

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here."""
        return True
