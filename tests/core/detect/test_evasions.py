"""Simple evasions that used to silence the detectors now alert (each failed before)."""

from __future__ import annotations

import tracemalloc

import seclog_core as seclog
from seclog_core.detect import DEFAULT_RULES, DetectorEngine, MemoryState
from seclog_core.events import SecurityEvent
from seclog_core.pipeline import new_pipeline
from seclog_core.testing import CapturedEvents
from seclog_core.vocabulary import get_event_type
from tests.core.detect.conftest import alerts

KEY = "k" * 32


def test_spellings_of_one_account_count_as_one(make_app, events: CapturedEvents):
    """Alice, alice, ' ALICE ' and full-width forms add up to one brute force on one account."""
    app = make_app()
    spellings = [
        "Alice",
        "alice",
        " ALICE ",
        "\uff21\uff4c\uff49\uff43\uff45",
        "ALİCE"[:0] + "aLiCe",
    ]
    for i in range(10):
        app.login(spellings[i % len(spellings)].replace(" ", "%20"))
    alert = events.one("authn_login_fail_max")
    assert alert.attributes["security.key"] == "alice"
    typed = {e.attributes["user.name"] for e in events.of_type("authn_login_fail")}
    assert "\uff21\uff4c\uff49\uff43\uff45" in typed and " ALICE " in typed  # logged as typed


def test_ipv6_rotation_inside_one_prefix_is_one_client(make_app, events):
    """404s from 40 addresses of one IPv6 /64 are one scanner."""
    app = make_app()
    for i in range(40):
        app.get(f"/missing/{i}", client=f"2001:db8:1:2::{i + 1:x}")
    alert = events.one("malicious_excess_404")
    assert alert.attributes["security.key"] == "2001:db8:1:2::/64"
    assert alerts(events) == ["malicious_excess_404"]


def test_ipv6_prefix_length_is_configurable(make_app, events):
    """With detector_ipv6_prefix=128 each IPv6 address counts alone again."""
    app = make_app(detector_ipv6_prefix=128)
    for i in range(40):
        app.get(f"/missing/{i}", client=f"2001:db8:1:2::{i + 1:x}")
    assert alerts(events) == []


def test_ipv6_rotation_does_not_escape_flood_control(make_app, events):
    """Flood control keys IPv6 clients by prefix: rotating addresses still get summarized."""
    app = make_app(flood_limit=5, flood_window=60)
    for i in range(12):
        app.login(f"user{i}", client=f"2001:db8:9:9::{i + 1:x}")
    assert len(events.of_type("authn_login_fail")) == 5
    app.pipeline.state["flood_control"].flush(everything=True)
    summary = events.one("security_events_summarized")
    assert summary.attributes["security.count"] == 7


def test_a_non_string_user_name_still_counts(telemetry, events):
    """A user name given as an int is counted like its text: ten failures raise brute force."""
    seclog.configure(local_sink="none")
    for _ in range(10):
        seclog.login_failed(username=4711)
    alert = events.one("authn_login_fail_max")
    assert alert.attributes["security.key"] == "4711"


def test_omitted_user_names_still_feed_brute_force(make_app, events):
    """With user.name=omit the alert still fires, and no user name leaves in any event."""
    app = make_app(field_policies={"user.name": "omit"})
    for _ in range(10):
        app.login("alice")
    alert = events.one("authn_login_fail_max")
    assert "user.name" not in alert.attributes and "security.key" not in alert.attributes
    assert all("alice" not in str(e.attributes) for e in events)


def test_omitted_client_addresses_still_feed_credential_stuffing(make_app, events):
    """With client.address=omit stuffing from one client is still seen, the address not logged."""
    app = make_app(field_policies={"client.address": "omit"})
    for i in range(10):
        app.login(f"user{i}", client="198.51.100.7")
    alert = events.one("alert_credential_stuffing")
    assert all("198.51.100.7" not in str(e.attributes) for e in events)
    assert alert.attributes["security.count"] == 10


def test_pseudonymized_user_names_alert_with_the_pseudonym(make_app, events):
    """With user.name=pseudonymize the alert fires and carries only pseudonyms."""
    app = make_app(field_policies={"user.name": "pseudonymize"}, pseudonymize_key=KEY)
    for _ in range(10):
        app.login("alice")
    alert = events.one("authn_login_fail_max")
    assert "alice" not in str(alert.attributes)
    assert alert.attributes["security.key"] != "alice"


def _failed_login(i: int, name_length: int) -> SecurityEvent:
    attrs = {
        "user.name": f"{i:06d}".ljust(name_length, "x"),
        "client.address": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
    }
    return SecurityEvent(get_event_type("authn_login_fail"), "x", attrs, 0)


def _state_bytes(name_length: int) -> int:
    """Bytes the detectors keep after 6,000 failed logins from rotating clients."""
    engine = DetectorEngine(
        new_pipeline(detectors=False, local_sink="none"), DEFAULT_RULES, MemoryState(1000)
    )
    tracemalloc.start()
    try:
        for i in range(6000):  # each request brings its own strings, as in a server
            engine.observe(_failed_login(i, name_length))
            if i % 500 == 499:  # the worker keeps up, as between requests: none dropped
                assert engine.drain()
        assert engine.drain()  # what is counted, not what waits in the queue
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_long_user_names_from_rotating_clients_cost_no_more_state_than_short_ones():
    """State is bounded in bytes: 2,000-character user names take no more than 8-character ones."""
    short, long = _state_bytes(8), _state_bytes(2000)
    assert long < short * 1.25 + 64 * 1024
    assert long < 8 * 2**20  # 1,000 keys per rule
