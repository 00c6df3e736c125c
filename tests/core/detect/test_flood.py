"""Flood control: past the limit, identical events become exact periodic summaries."""

from __future__ import annotations

import time

from seclog_core.detect import FloodControl
from seclog_core.testing import CapturedEvents


def _wait_for(events: CapturedEvents, event_type: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not events.of_type(event_type) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_login_flood_is_summarized_with_exact_counts_and_usernames(make_app, events):
    """Past flood_limit, failed logins from one client become one summary with exact counts."""
    app = make_app(flood_limit=5, flood_window=0.3)
    for i in range(50):
        assert app.login(f"user{i}", client="198.51.100.8") == 401
    assert len(events.of_type("authn_login_fail")) == 5
    _wait_for(events, "security_events_summarized")
    summary = events.one("security_events_summarized")
    attrs = summary.attributes
    assert attrs["security.summarized_event"] == "authn_login_fail"
    assert attrs["security.key"] == "198.51.100.8"
    assert attrs["client.address"] == "198.51.100.8"
    assert attrs["security.count"] == 45
    assert attrs["security.total_count"] == 50
    assert attrs["security.summary.user.name"] == [f"user{i}" for i in range(5, 25)]
    assert attrs["security.summary.truncated"] is True
    # Suppressed events still fed the detectors; the 401 fallback did not repeat them.
    assert len(events.of_type("alert_credential_stuffing")) == 1
    assert events.of_type("authn_fail") == []


def test_scanner_paths_are_listed_in_the_summary(make_app, events):
    """A flood of 403s lists the distinct paths probed."""
    app = make_app(flood_limit=2, flood_window=0.2)
    for i in range(6):
        app.get(f"/admin/{i}", client="192.0.2.44")
    _wait_for(events, "security_events_summarized")
    summary = events.one("security_events_summarized")
    assert summary.attributes["security.summary.url.path"] == [f"/admin/{i}" for i in range(2, 6)]
    assert summary.attributes["security.count"] == 4


def test_a_new_window_lets_events_through_again_and_summarizes_the_last(make_app, events):
    """Each window emits up to the limit and then one summary: floods are periodic, not silent."""
    app = make_app(flood_limit=2, flood_window=0.2)
    for _ in range(2):
        for _ in range(5):
            app.get("/admin", client="192.0.2.45")
        time.sleep(0.25)
    _wait_for(events, "security_events_summarized")
    deadline = time.monotonic() + 5
    while len(events.of_type("security_events_summarized")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(events.of_type("authz_fail")) == 4
    assert [
        e.attributes["security.count"] for e in events.of_type("security_events_summarized")
    ] == [
        3,
        3,
    ]


def test_rare_events_and_alerts_are_never_summarized(make_app, events):
    """Password changes and alerts always go out one by one."""
    app = make_app(flood_limit=2, flood_window=60)
    for _ in range(10):
        app.pipeline.emit("authn_password_change", {"client.address": "192.0.2.9"})
        app.pipeline.emit("alert_authz_burst", {"client.address": "192.0.2.9"})
    assert len(events.of_type("authn_password_change")) == 10
    assert len(events.of_type("alert_authz_burst")) == 10


def test_pending_summaries_are_flushed_on_demand(make_app, events):
    """flush(everything=True) (also run at exit) reports windows still open."""
    app = make_app(flood_limit=1, flood_window=3600)
    for _ in range(4):
        app.get("/admin", client="192.0.2.46")
    flood: FloodControl = app.pipeline.state["flood_control"]
    assert flood.pending() == 1
    assert flood.flush(everything=True) == 1
    assert events.one("security_events_summarized").attributes["security.count"] == 3


def test_flood_windows_are_capped_and_evicted_windows_are_summarized(make_app, events):
    """A flood over more keys than the cap evicts the oldest windows with their summaries."""
    app = make_app(flood_limit=1, flood_window=3600, detector_max_keys=3, detectors=False)
    for i in range(10):
        app.get("/admin", client=f"192.0.2.{i}")
        app.get("/admin", client=f"192.0.2.{i}")
    flood: FloodControl = app.pipeline.state["flood_control"]
    assert len(flood._windows) == 3
    assert len(events.of_type("security_events_summarized")) == 7
