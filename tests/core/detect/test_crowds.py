"""Crowds behind one address stay quiet; the attacks they resemble do not."""

from __future__ import annotations

from tests.core.detect.conftest import alerts

NAT = "198.18.0.1"


def test_an_office_behind_one_nat_address_is_not_credential_stuffing(make_app, events):
    """300 logins from one address, 15 of them after one typo: no alert (95% succeed)."""
    app = make_app()
    for i in range(300):
        if i % 20 == 0:
            app.login(f"user{i}", client=NAT)
        app.login(f"user{i}", "right", client=NAT)
    assert "alert_credential_stuffing" not in alerts(events)


def test_a_leaked_list_from_one_address_is_stuffing_despite_a_few_hits(make_app, events):
    """50 leaked accounts from one address, 2 of them valid: one credential-stuffing alert."""
    app = make_app()
    for i in range(50):
        app.login(f"leak{i}", "right" if i in (7, 30) else "wrong", client="203.0.113.20")
    assert alerts(events).count("alert_credential_stuffing") == 1


def test_names_the_app_says_do_not_exist_count_even_among_successes(telemetry, events):
    """Behind a busy NAT, five names the app reports unknown (of ten failures) still alert."""
    import seclog_core as seclog

    seclog.configure(local_sink="none")
    for i in range(100):
        seclog.login_succeeded(username=f"user{i}", client_address=NAT)
    for i in range(9):
        seclog.login_failed(username=f"ghost{i}", reason="bad_credentials", client_address=NAT)
    assert alerts(events) == []  # nine names, 9% failing: a crowd
    for i in range(9, 14):
        seclog.login_failed(username=f"ghost{i}", reason="unknown_user", client_address=NAT)
    assert alerts(events) == ["alert_credential_stuffing"]


def test_one_account_attacked_two_ways_is_one_alert(make_app, events):
    """Brute force then distributed guesses on one account: one authn_login_fail_max."""
    app = make_app()
    for _ in range(12):
        app.login("erin", client="203.0.113.10")
    for i in range(25):
        app.login("erin", client=f"192.0.2.{i + 1}")
    assert alerts(events) == ["authn_login_fail_max"]
    alert = events.one("authn_login_fail_max")
    assert alert.attributes["security.distributed"] is False
