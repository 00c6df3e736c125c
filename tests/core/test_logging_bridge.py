"""The logging bridge: an app's own security log records become seclog events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from seclog_core.detect import drain
from seclog_core.logging_bridge import BridgeMapping, SecLogHandler, SecLogProcessor
from seclog_core.testing import capture_security_events
from tests.support.telemetry import Telemetry, in_memory_telemetry


class _Keep(logging.Handler):
    """The app's own handler: what it receives must be untouched by the bridge."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def in_memory() -> Iterator[Telemetry]:
    # Detector state in the process: the tests write nothing outside tmp dirs.
    with in_memory_telemetry(detector_state="process") as telemetry:
        yield telemetry


@pytest.fixture
def app_logger() -> Iterator[tuple[logging.Logger, _Keep]]:
    logger = logging.getLogger("tests.bridge.app")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    kept = _Keep()
    bridge = SecLogHandler()
    logger.addHandler(kept)
    logger.addHandler(bridge)
    yield logger, kept
    logger.removeHandler(kept)
    logger.removeHandler(bridge)


def _seed_failed_login(logger: logging.Logger, username: str, ip_address: str) -> None:
    # Word for word the seed's "good practice" example.
    logger.warning(
        "SECURITY_EVENT: Failed login attempt",
        extra={
            "event_type": "login_failure",
            "username": username,
            "ip_address": ip_address,
            "severity": "medium",
        },
    )


def test_seed_style_record_becomes_a_failed_login_event(
    app_logger: tuple[logging.Logger, _Keep],
) -> None:
    """The seed's logger.warning(..., extra={"event_type": "login_failure", ...}) is an event."""
    logger, kept = app_logger
    with capture_security_events() as events:
        _seed_failed_login(logger, "bob", "203.0.113.9")
    event = events.one("authn_login_fail")
    assert event.attributes["user.name"] == "bob"
    assert event.attributes["client.address"] == "203.0.113.9"
    assert event.attributes["security.source_logger"] == "tests.bridge.app"
    assert "security.severity" not in event.attributes
    assert [r.getMessage() for r in kept.records] == ["SECURITY_EVENT: Failed login attempt"]
    assert kept.records[0].username == "bob"  # type: ignore[attr-defined]


def test_records_that_are_not_security_events_pass_untouched(
    app_logger: tuple[logging.Logger, _Keep],
) -> None:
    """Ordinary records, and unknown event names, emit nothing and reach the app's handlers."""
    logger, kept = app_logger
    with capture_security_events() as events:
        logger.info("order %s shipped", 42, extra={"order_id": 42})
        logger.warning("odd", extra={"event_type": "cache_miss"})
    assert events.types == []
    assert [r.getMessage() for r in kept.records] == ["order 42 shipped", "odd"]


def test_secrets_in_the_record_are_scrubbed(app_logger: tuple[logging.Logger, _Keep]) -> None:
    """A password or token a record carries never leaves in the event."""
    logger, _ = app_logger
    with capture_security_events() as events:
        logger.warning(
            "bad login",
            extra={"event_type": "login_failure", "username": "bob", "password": "hunter2"},
        )
    assert "hunter2" not in repr(events.one("authn_login_fail").attributes)


def test_custom_mapping_translates_their_names_to_ours() -> None:
    """Their event and field names map through a documented table, defaults included."""
    mapping = BridgeMapping(
        event_keys=("kind",),
        event_names={"auth.bad_password": "authn_login_fail"},
        field_names={"acct": "user.name", "peer": "client.address"},
    )
    logger = logging.getLogger("tests.bridge.custom")
    handler = SecLogHandler(mapping)
    logger.addHandler(handler)
    try:
        with capture_security_events() as events:
            logger.error("x", extra={"kind": "auth.bad_password", "acct": "eve", "peer": "::1"})
            logger.error("y", extra={"kind": "logout", "username": "eve"})
    finally:
        logger.removeHandler(handler)
    failed = events.one("authn_login_fail")
    assert failed.attributes["user.name"] == "eve"
    assert failed.attributes["client.address"] == "::1"
    assert events.one("authn_logout").attributes["user.name"] == "eve"


def test_mapping_to_a_name_outside_the_vocabulary_is_refused() -> None:
    """A mapping naming an event seclog does not know fails when it is built, not later."""
    with pytest.raises(ValueError, match="not in seclog's vocabulary"):
        BridgeMapping(event_names={"login_failure": "authn_login_failed"})


def test_bridged_failures_feed_the_detectors(
    app_logger: tuple[logging.Logger, _Keep], in_memory: Telemetry
) -> None:
    """Ten bridged failed logins on one account raise the brute-force alert, with no rewrite."""
    logger, _ = app_logger
    for _ in range(10):
        _seed_failed_login(logger, "alice", "198.51.100.4")
    drain()  # the detectors count on seclog's own thread
    names = [record.event_name for record in in_memory.records()]
    assert names.count("security.authn_login_fail") == 10
    assert "security.authn_login_fail_max" in names


def test_structlog_processor_emits_and_passes_the_event_dict_on() -> None:
    """A structlog event with event_type becomes a seclog event; the app's output is unchanged."""
    seen: list[dict[str, Any]] = []

    def keep(logger: Any, method: str, event_dict: Any) -> str:
        seen.append(dict(event_dict))
        return "ok"

    structlog.configure(
        processors=[SecLogProcessor(), keep], logger_factory=structlog.ReturnLoggerFactory()
    )
    try:
        log = structlog.get_logger().bind(ip_address="192.0.2.1")
        with capture_security_events() as events:
            log.warning("login failed", event_type="login_failure", username="carol")
            log.info("page viewed", path="/home")
    finally:
        structlog.reset_defaults()
    event = events.one("authn_login_fail")
    assert event.attributes["user.name"] == "carol"
    assert event.attributes["client.address"] == "192.0.2.1"
    assert events.types == ["authn_login_fail"]
    assert seen[0] == {
        "event": "login failed",
        "event_type": "login_failure",
        "username": "carol",
        "ip_address": "192.0.2.1",
    }
    assert seen[1]["event"] == "page viewed"
