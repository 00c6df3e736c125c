"""Scrubbing the application's own logs: logging.Filter and OTel log processor."""

from __future__ import annotations

import io
import logging
import sys
import warnings
from collections.abc import Iterator

import pytest
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from seclog_core.log_scrubbing import RedactingFilter, RedactingLogRecordProcessor
from seclog_core.redact import REDACTED, Redactor

USER_ID = 42
PASSWORD = "hunter2"
CREDIT_CARD_NUMBER = "4111 1111 1111 1111"


def _log_bad_practice(logger: logging.Logger) -> None:
    # The seed's example of what apps should not do, and do anyway.
    user_id, password, credit_card_number = USER_ID, PASSWORD, CREDIT_CARD_NUMBER
    logger.info(f"User {user_id} requested with password {password} and CC {credit_card_number}")


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("seclog.tests.log_scrubbing")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_removes_password_and_card_from_the_bad_practice_example(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """An f-string log line with a password and a card number is written without either."""
    logger, stream = captured
    _log_bad_practice(logger)
    written = stream.getvalue()
    assert PASSWORD not in written
    assert "4111" not in written
    assert f"User {USER_ID} requested with password {REDACTED} and CC {REDACTED}" in written


def _record(msg: object, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, msg, args or None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_filter_formats_once_and_clears_args() -> None:
    """The message is formatted, scrubbed and stored with args cleared."""
    record = _record("login for %s with token=%s", "bob", "abc123")
    assert RedactingFilter().filter(record) is True
    assert record.msg == f"login for bob with token={REDACTED}"
    assert record.args is None
    assert record.getMessage() == record.msg


def test_filter_neutralises_log_injection() -> None:
    """A newline in a logged value cannot forge a second log line."""
    record = _record("user %s", "bob\nINFO admin logged in")
    RedactingFilter().filter(record)
    assert "\n" not in record.getMessage()


def test_filter_survives_a_broken_format_string() -> None:
    """A message whose %-format fails keeps its text, scrubbed, and the record is kept."""
    record = _record("value %d and password=%s", "not-a-number")
    assert RedactingFilter().filter(record) is True
    assert isinstance(record.msg, str)
    assert "value %d" in record.msg
    assert record.args is None


def test_filter_scrubs_sensitive_extra_attributes() -> None:
    """Sensitive `extra` fields are redacted and others scrubbed by value."""
    record = _record("hi", api_key="k-123", note="card 4111111111111111", ctx={"token": "t"})
    RedactingFilter().filter(record)
    assert record.api_key == REDACTED  # type: ignore[attr-defined]
    assert record.note == f"card {REDACTED}"  # type: ignore[attr-defined]
    assert record.ctx == '{"token": "[REDACTED]"}'  # type: ignore[attr-defined]
    assert record.levelname == "INFO"


def test_filter_scrubs_traceback_text_but_keeps_its_lines() -> None:
    """A traceback keeps its line breaks and loses the secrets in its exception message."""
    try:
        raise ValueError("bad login password=hunter2")
    except ValueError:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    RedactingFilter().filter(record)
    assert record.exc_text is not None
    assert "hunter2" not in record.exc_text
    assert "\n" in record.exc_text
    assert "hunter2" not in logging.Formatter().format(record)


def test_filter_never_raises_and_never_drops() -> None:
    """Even with an unprintable message the record passes."""

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("boom")

        def __repr__(self) -> str:
            raise RuntimeError("boom")

    record = _record(Broken())
    assert RedactingFilter().filter(record) is True


def test_filter_accepts_a_custom_redactor() -> None:
    """A configured Redactor is used instead of the default."""
    record = _record("employee tckn=123", tckn="123")
    RedactingFilter(Redactor(extra_keys=["tckn"])).filter(record)
    assert record.msg == f"employee tckn={REDACTED}"
    assert record.tckn == REDACTED  # type: ignore[attr-defined]


@pytest.fixture
def otel() -> Iterator[tuple[logging.Logger, InMemoryLogRecordExporter]]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(RedactingLogRecordProcessor())
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():
        # The SDK's own stdlib bridge is deprecated in favour of a package not installed here.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(logger_provider=provider)
    logger = logging.getLogger("seclog.tests.otel")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, exporter
    logger.removeHandler(handler)
    provider.shutdown()


def test_processor_removes_password_and_card_before_export(
    otel: tuple[logging.Logger, InMemoryLogRecordExporter],
) -> None:
    """Through a real SDK pipeline, the exported record holds neither password nor card."""
    logger, exporter = otel
    _log_bad_practice(logger)
    (exported,) = exporter.get_finished_logs()
    body = exported.log_record.body
    assert body == f"User {USER_ID} requested with password {REDACTED} and CC {REDACTED}"
    assert PASSWORD not in str(exported.log_record.attributes)


def test_processor_scrubs_attributes_and_exception_text(
    otel: tuple[logging.Logger, InMemoryLogRecordExporter],
) -> None:
    """Sensitive attributes and secrets inside exception messages are redacted."""
    logger, exporter = otel
    try:
        raise RuntimeError("db url postgres://app:s3cr3t@db/x")
    except RuntimeError:
        logger.exception("failed", extra={"session_id": "abc", "path": "/x?token=t1"})
    (exported,) = exporter.get_finished_logs()
    attributes = dict(exported.log_record.attributes or {})
    assert attributes["session_id"] == REDACTED
    assert attributes["path"] == f"/x?token={REDACTED}"
    assert "s3cr3t" not in str(attributes)
    assert attributes["exception.type"] == "RuntimeError"


def test_processor_redacts_structured_bodies() -> None:
    """A mapping body is redacted by its keys."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(RedactingLogRecordProcessor())
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("t").emit(LogRecord(body={"password": "x", "user": "bob"}))
    provider.shutdown()
    (exported,) = exporter.get_finished_logs()
    assert exported.log_record.body == '{"password": "[REDACTED]", "user": "bob"}'


def test_processor_lifecycle_is_trivial() -> None:
    """shutdown and force_flush succeed without side effects."""
    processor = RedactingLogRecordProcessor()
    assert processor.force_flush() is True
    processor.shutdown()
