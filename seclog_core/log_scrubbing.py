"""Scrubbing for the application's own logs, with the same rules as seclog's events.

`RedactingFilter` is a `logging.Filter` for any handler; `RedactingLogRecordProcessor`
is an OpenTelemetry log processor. Add the processor to the LoggerProvider
*before* the exporting processor, since processors run in the order they were added::

    provider.add_log_record_processor(RedactingLogRecordProcessor())
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))

`scrub_server_loggers` attaches the filter to the loggers through which the
frameworks and servers print a crash (``django.request``, Flask's app logger,
``werkzeug``, ``uvicorn.error``, ``gunicorn.error``): adapters call it at start-up
when the ``scrub_server_logs`` setting is on (the default). seclog's own logger
(``seclog``), which prints endpoints and exception names in its warnings, is
always scrubbed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Protocol

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord

from seclog_core._text import safe_str
from seclog_core.redact import REDACTED, Redactor

__all__ = [
    "SERVER_LOGGERS",
    "RedactingFilter",
    "RedactingLogRecordProcessor",
    "attach_server_log_scrubbing",
    "scrub_server_loggers",
]

#: The loggers frameworks and servers print an unhandled exception through.
SERVER_LOGGERS: tuple[str, ...] = (
    "django.request",
    "django.server",
    "django.security",
    "flask.app",
    "werkzeug",
    "uvicorn.error",
    "gunicorn.error",
    "hypercorn.error",
    "daphne.server",
)

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
        args = record.args
        record.msg = redactor.scrub_text(message)
        record.args = None
        if "message" in vars(record):  # formatted earlier by another handler
            record.message = record.msg
        for name, value in list(vars(record).items()):
            if name in _STANDARD_ATTRS:
                continue
            if redactor.is_sensitive_key(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, str):
                setattr(record, name, redactor.scrub_text(_formatted(value, args)))
            elif value is None or isinstance(value, (bool, int, float)):
                continue
            elif isinstance(value, (Mapping, list, tuple, set, frozenset)):
                setattr(record, name, redactor.redact_value(name, value))
            else:
                # Any other object prints through str(): a request, a model, a dataclass
                # whose repr holds a password. When its text holds a secret, a stand-in
                # prints the scrubbed text and still lends its attributes to handlers that
                # read them (Django's AdminEmailHandler reads record.request.META).
                text = safe_str(value)
                scrubbed = redactor.scrub_text(text)
                if scrubbed != text:
                    setattr(record, name, _ScrubbedObject(value, scrubbed))
        if record.exc_info and not record.exc_text:
            # Formatters cache the traceback here and reuse it, so scrubbing it once suffices.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.scrub_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.scrub_secrets(record.stack_info)


def _formatted(value: str, args: object) -> str:
    """An extra that is another rendering of the message (uvicorn's color_message), filled in.

    The message's arguments are gone once it is scrubbed, so a template among the
    extras is formatted with them now, or it would print a bare "%d".
    """
    if not args or "%" not in value:
        return value
    try:
        return value % args
    except Exception:
        return value


class _ScrubbedObject:
    """An extra whose text held a secret: prints scrubbed, otherwise behaves like the object."""

    __slots__ = ("_text", "_wrapped")

    def __init__(self, wrapped: object, text: str) -> None:
        self._wrapped = wrapped
        self._text = text

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return self._text

    def __format__(self, spec: str) -> str:
        return format(self._text, spec)


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


def scrub_server_loggers(
    redactor: Redactor | None = None, names: Iterable[str] = SERVER_LOGGERS
) -> list[str]:
    """Attach a `RedactingFilter` to each named logger, once; return the names newly covered.

    A logger's filters see the records logged through that logger, so a crash's
    message and traceback text printed by the framework or the server are
    scrubbed before any handler writes them. Calling it again is harmless.
    """
    covered: list[str] = []
    for name in names:
        target = logging.getLogger(name)
        if any(isinstance(f, RedactingFilter) for f in target.filters):
            continue
        target.addFilter(RedactingFilter(redactor))
        covered.append(name)
    return covered


class _HasRedactor(Protocol):
    redactor: Redactor
    settings: Any


def attach_server_log_scrubbing(pipeline: _HasRedactor, *extra_loggers: str) -> list[str]:
    """Adapters call this at start-up: scrub `SERVER_LOGGERS` and the framework's own ones.

    Does nothing when the app's ``scrub_server_logs`` setting is off. `extra_loggers`
    names loggers only the adapter knows (Flask's ``app.logger.name``).
    """
    if not getattr(pipeline.settings, "scrub_server_logs", True):
        return []
    return scrub_server_loggers(pipeline.redactor, (*SERVER_LOGGERS, *extra_loggers))


# seclog's own warnings name endpoints and print exception text: never a secret.
scrub_server_loggers(names=("seclog",))
