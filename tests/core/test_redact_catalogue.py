"""The leak catalogues, class by class, through the public API: emit, Redactor, RedactingFilter.

Every case of tests/hostile/secrets_catalogue.py goes in as free text (a message,
an attribute value, a user name, an exception, a log line) and must not come out
anywhere: log record attributes and body, span events, the formatted log line.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seclog_core as seclog
from seclog_core.log_scrubbing import RedactingFilter
from seclog_core.redact import DEFAULT_PATTERNS, REDACTED, Redactor
from tests.hostile import secrets_catalogue as cat
from tests.support.telemetry import Telemetry

CASES = cat.ALL_TEXT_CASES


def _ids(case: cat.Case) -> str:
    return case.name


def emitted_text(telemetry: Telemetry) -> str:
    """Every attribute value and body of every record and span event, as one text."""
    parts: list[str] = []
    for record in telemetry.records():
        parts.append(repr(record.body))
        parts.extend(f"{k}={v!r}" for k, v in (record.attributes or {}).items())
    for span in telemetry.spans.get_finished_spans():
        for event in span.events:
            parts.extend(f"{k}={v!r}" for k, v in (event.attributes or {}).items())
    return "\n".join(parts)


def _decoded(text: str) -> str:
    # The needles must not come out escaped either: undo repr's escaping.
    return text + "\n" + text.encode().decode("unicode_escape", errors="replace")


def assert_no_needle(text: str, case: cat.Case) -> None:
    leaked = [needle for needle in case.needles if needle in _decoded(text)]
    assert not leaked, f"{case.name}: {leaked} in {text[:400]!r}"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_scrub_text_removes_every_catalogued_secret(redactor: Redactor, case: cat.Case) -> None:
    """Free text carrying any catalogued secret comes out without it."""
    assert_no_needle(redactor.scrub_text(f"context before {case.text} and after"), case)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_scrubbing_is_idempotent(redactor: Redactor, case: cat.Case) -> None:
    """Scrubbing scrubbed text changes nothing (so a second pass cannot un-redact or grow)."""
    once = redactor.scrub_secrets(case.text)
    assert redactor.scrub_secrets(once) == once


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_emit_never_exports_a_catalogued_secret(telemetry: Telemetry, case: cat.Case) -> None:
    """Through seclog.emit as user name, attribute, message and exception, nothing leaks."""
    seclog.emit(
        "input_validation_fail",
        username=case.text,
        message=f"rejected {case.text}",
        attributes={"detail": case.text, "items": [case.text], "nested": {"note": case.text}},
    )
    seclog.emit("sys_error", exception=RuntimeError(f"database refused: {case.text}"))
    assert len(telemetry.records()) == 2
    assert_no_needle(emitted_text(telemetry), case)


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(detail)s"))
    logger = logging.getLogger("seclog.tests.catalogue")
    logger.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.filters.clear()


class _Detail:
    """An extra whose str() carries the secret (a request, a model, a dataclass)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"Detail({self.text})"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_redacting_filter_scrubs_message_extras_and_traceback(
    log_stream: tuple[logging.Logger, io.StringIO], case: cat.Case
) -> None:
    """The app's own log line, its extras (any type) and its traceback lose the secret."""
    logger, stream = log_stream
    try:
        raise ValueError(f"driver said: {case.text}")
    except ValueError:
        logger.exception("failed with %s", case.text, extra={"detail": _Detail(case.text)})
    logger.info("plain %s", "x", extra={"detail": {"note": case.text}})
    out = stream.getvalue()
    assert "driver said" in out
    assert_no_needle(out, case)


@pytest.mark.parametrize("name", cat.KEY_NAMES)
def test_every_secret_bearing_name_is_redacted(redactor: Redactor, name: str) -> None:
    """A value under any catalogued secret-bearing name goes, whatever its shape."""
    value = cat.key_value_for(name)
    assert redactor.is_sensitive_key(name)
    assert redactor.redact_attributes({name: value}) == {name: REDACTED}
    assert redactor.redact_value("body", {"outer": {name: value}}) == json.dumps(
        {"outer": {name: REDACTED}}, ensure_ascii=False
    )
    for text in (
        f"{name}={value}",
        f"{name}: {value}",
        json.dumps({name: value}),
        f"?a=1&{name}={value}",
        f"<{name}>{value}</{name}>",
        repr((name, value)),
    ):
        assert value not in redactor.scrub_text(text), text


@pytest.mark.parametrize("name", cat.KEY_NAMES)
def test_secret_bearing_names_through_emit(telemetry: Telemetry, name: str) -> None:
    """seclog.emit never exports a value passed under a secret-bearing name."""
    value = cat.key_value_for(name)
    seclog.emit("authz_fail", attributes={name: value, "form": {name: value}})
    assert value not in emitted_text(telemetry)


BENIGN = (
    "password changed for bob.",
    "password is incorrect",
    "the password was reset",
    "Token expired at 10:00",
    "the api key is missing",
    "PIN is required",
    "invalid token",
    "tokens used: 1234",
    "order 1234-5678-9012 shipped",
    "latency=5234.123456789 ms",
    "released 2024/01/02 at 10:11:12",
    "GET /static/app.css HTTP/1.1 200",
    "ssh://git@github.com/o/r.git",
    "http://localhost:8080/x?mail=a@b.com",
    "https://example.com/path?page=2&sort=asc",
    "version 1.2.3.4 on host 10.120.130.140",
    "phone +44 7911 123456",
    "user bob logged in from 203.0.113.7",
)


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_text_is_kept(redactor: Redactor, text: str) -> None:
    """Messages about secrets, ids, dates, versions and plain URLs are not redacted."""
    assert redactor.scrub_text(text) == text


_SURROUNDINGS = st.lists(
    st.sampled_from([*" \t\n,;()[]{}<>|!?", "note ", "error: ", "x "]), max_size=12
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CASES),
    before=_SURROUNDINGS,
    after=_SURROUNDINGS,
    twice=st.booleans(),
)
def test_catalogued_secrets_never_survive_any_surroundings(
    case: cat.Case, before: str, after: str, twice: bool
) -> None:
    """Whatever punctuation, words or line breaks surround a catalogued secret, it goes."""
    redactor = Redactor()
    text = before + case.text + after + (" " + case.text if twice else "")
    assert_no_needle(redactor.scrub_text(text), case)
    assert_no_needle(redactor.scrub_secrets(text), case)


def _gates_hold(text: str) -> None:
    digits = sum(c in "0123456789" for c in text)
    lowered = text.lower()
    for pattern in DEFAULT_PATTERNS:
        for match in pattern.regex.finditer(text):
            changed = pattern.replace(match) if pattern.replace else "[REDACTED]"
            if changed is None or changed == match.group():
                continue
            assert not pattern.trigger or any(t in lowered for t in pattern.trigger), pattern.name
            assert digits >= pattern.min_digits, pattern.name


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_detector_triggers_are_necessary_conditions(case: cat.Case) -> None:
    """A detector skipped for lack of its trigger could not have redacted anything there."""
    _gates_hold(case.text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aAkKiIsSeEyYjJ0123456789 -_.:=/@%\"'<>(),;~Q")), max_size=80
    )
)
def test_detector_triggers_hold_on_random_text(text: str) -> None:
    """On random text made of the detectors' own characters, every trigger is a true condition."""
    _gates_hold(text)
