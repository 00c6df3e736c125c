"""Each attack, driven through a real ASGI app, alerts once; benign traffic raises nothing."""

from __future__ import annotations

import pytest

import seclog_core as seclog
from seclog_core import Alert
from seclog_core.detect import drain
from seclog_core.testing import CapturedEvents
from tests.core.detect.app import App
from tests.core.detect.conftest import alerts


def test_brute_force_on_one_account_emits_login_fail_max_once(make_app, events: CapturedEvents):
    """Ten failed logins for one account give one authn_login_fail_max, however many follow."""
    app = make_app()
    for _ in range(25):
        assert app.login("alice") == 401
    alert = events.one("authn_login_fail_max")
    assert alert.type.severity.text == "ERROR"
    assert alert.attributes["security.rule"] == "brute_force"
    assert alert.attributes["security.key"] == "alice"
    assert alert.attributes["security.key_field"] == "user.name"
    assert alert.attributes["security.count"] == 10
    assert alert.attributes["security.window_seconds"] == 300.0
    assert alerts(events) == ["authn_login_fail_max"]


def test_a_user_mistyping_twice_raises_no_alert_but_success_after_fail(make_app, events):
    """Two typos then a success is benign: no alert, one successafterfail with retry_count 2."""
    app = make_app()
    app.login("bob")
    app.login("bob")
    assert app.login("bob", "right") == 200
    assert alerts(events) == ["authn_login_successafterfail"]
    derived = events.one("authn_login_successafterfail")
    assert derived.attributes["security.retry_count"] == 2
    assert derived.attributes["user.name"] == "bob"
    app.login("bob", "right")
    assert len(events.of_type("authn_login_successafterfail")) == 1


def test_credential_stuffing_from_one_client_is_one_alert(make_app, events):
    """Failed logins for many different accounts from one client raise credential stuffing."""
    app = make_app()
    for i in range(30):
        app.login(f"user{i}", client="198.51.100.7")
    alert = events.one("alert_credential_stuffing")
    assert alert.attributes["security.key"] == "198.51.100.7"
    assert alert.attributes["security.key_field"] == "client.address"
    assert alert.attributes["security.count"] == 10
    assert alerts(events) == ["alert_credential_stuffing"]


def test_distributed_brute_force_on_one_account(make_app, events):
    """Five clients failing on one account give one authn_login_fail_max marked distributed."""
    app = make_app()
    for i in range(25):
        app.login("carol", client=f"192.0.2.{i + 1}")
    alert = events.one("authn_login_fail_max")
    assert alert.attributes["security.rule"] == "distributed_brute_force"
    assert alert.attributes["security.key"] == "carol"
    assert alert.attributes["security.count"] == 5
    assert alert.attributes["security.distributed"] is True
    assert alert.attributes["security.address_count"] == 5
    assert alerts(events) == ["authn_login_fail_max"]


def test_authorization_failure_burst_from_one_client(make_app, events):
    """Twenty 403s in a minute from one client raise one authz burst alert."""
    app = make_app()
    for i in range(40):
        assert app.get(f"/admin/orders/{i}", client="203.0.113.50") == 403
    alert = events.one("alert_authz_burst")
    assert alert.attributes["security.key"] == "203.0.113.50"
    assert alert.attributes["security.count"] == 20
    assert alerts(events) == ["alert_authz_burst"]


def test_scanning_many_404s_emits_excess_404_once(make_app, events):
    """Thirty 404s in a minute from one client give one malicious_excess_404."""
    app = make_app()
    for i in range(60):
        assert app.get(f"/wp-admin/{i}.php", client="198.51.100.99") == 404
    alert = events.one("malicious_excess_404")
    assert alert.attributes["security.rule"] == "scanning"
    assert alert.attributes["security.key"] == "198.51.100.99"
    assert alert.attributes["security.count"] == 30
    assert alerts(events) == ["malicious_excess_404"]


def test_a_crawlers_few_404s_raise_nothing(make_app, events):
    """A crawler hitting a handful of dead links is not scanning."""
    app = make_app()
    for path in ["/", "/about", "/old-page", "/robots.txt", "/favicon.ico", "/sitemap.xml"]:
        app.get(path, client="66.249.66.1", user_agent="Googlebot/2.1")
    assert alerts(events) == []
    assert events == []


@pytest.mark.parametrize(
    "user_agent",
    [
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
        "Mozilla/5.00 (Nikto/2.1.6)",
        "Fuzz Faster U Fool v2.1",
    ],
)
def test_attack_tool_user_agent_is_reported_once_per_client(make_app, events, user_agent):
    """A request from sqlmap, nikto or ffuf raises malicious_attack_tool once per client."""
    app = make_app()
    for _ in range(5):
        assert app.get("/", client="203.0.113.66", user_agent=user_agent) == 200
    alert = events.one("malicious_attack_tool")
    assert alert.attributes["security.key"] == "203.0.113.66"
    assert alert.attributes["user_agent.original"] == user_agent
    app.get("/", client="203.0.113.67", user_agent=user_agent)
    assert len(events.of_type("malicious_attack_tool")) == 2


def test_browser_and_library_user_agents_are_not_attack_tools(make_app, events):
    """Ordinary browsers, curl and HTTP libraries are not attack tools."""
    app = make_app()
    for agent in ["curl/8.5.0", "python-httpx/0.28", "Mozilla/5.0 (sitemap checker)"]:
        app.get("/", user_agent=agent)
    assert events == []


def test_burst_of_server_errors(make_app, events):
    """Fifty 5xx responses in a minute raise one error burst alert for the app."""
    app = make_app()
    for _ in range(70):
        assert app.get("/boom") == 500
    alert = events.one("alert_error_burst")
    assert alert.attributes["security.key"] == "*"
    assert alert.attributes["security.count"] == 50


def test_alert_fires_again_after_its_cooldown(make_app, events):
    """Once the cooldown has passed, the same key can alert again."""
    app = make_app(detector_options={"brute_force": {"threshold": 3, "cooldown": 0.2}})
    for _ in range(6):
        app.login("erin")
    assert len(events.of_type("authn_login_fail_max")) == 1
    import time

    time.sleep(0.25)
    app.login("erin")
    assert len(events.of_type("authn_login_fail_max")) == 2


def test_pseudonymized_keys_are_hashed_once(make_app, events):
    """With user names pseudonymized, the alert key is the same pseudonym the events carry."""
    app = make_app(
        pseudonymize_key="k" * 32,
        field_policies={"user.name": "pseudonymize", "client.address": "pseudonymize"},
    )
    for _ in range(10):
        app.login("alice")
    pseudonym = app.pipeline.redactor.pseudonymize("alice")
    alert = events.one("authn_login_fail_max")
    assert alert.attributes["security.key"] == pseudonym
    assert events.of_type("authn_login_fail")[0].attributes["user.name"] == pseudonym
    assert "alice" not in str(dict(alert.attributes))
    for i in range(30):
        app.get(f"/x{i}", client="198.51.100.3")
    scan = events.one("malicious_excess_404")
    assert scan.attributes["security.key"] == app.pipeline.redactor.pseudonymize("198.51.100.3")
    assert scan.attributes["client.address"] == scan.attributes["security.key"]


def test_on_alert_callback_gets_rule_key_reason_and_count(make_app, events):
    """A registered callback receives the alert; one that raises never reaches the app."""
    received: list[Alert] = []

    def broken(alert: Alert) -> None:
        raise RuntimeError("callback bug")

    seclog.on_alert(broken)
    seclog.on_alert(received.append)
    try:
        app = make_app()
        for _ in range(10):
            assert app.login("frank", client="192.0.2.77") == 401
        assert drain()  # callbacks run on the detectors' thread
    finally:
        seclog.remove_alert_callback(broken)
        seclog.remove_alert_callback(received.append)
    (alert,) = received
    assert (alert.rule, alert.key, alert.count) == ("brute_force", "frank", 10)
    assert "10 failed logins" in alert.reason
    assert alert.event is not None and alert.event.type.name == "authn_login_fail_max"
    assert alert.identity["client.address"] == "192.0.2.77"
    assert alert.context is not None and alert.context.client_address == "192.0.2.77"
    assert seclog.failure_counts()["detect.on_alert"] >= 1


def test_detectors_can_be_switched_off_one_by_one(make_app, events):
    """detector_options={"brute_force": False} silences that detector only."""
    app = make_app(detector_options={"brute_force": False, "scanning.threshold": "3"})
    for _ in range(12):
        app.login("gina")
    for i in range(3):
        app.get(f"/missing/{i}")
    assert alerts(events) == ["malicious_excess_404"]


def test_all_detectors_off(make_app, events):
    """detectors=False turns monitoring off entirely."""
    app = make_app(detectors=False)
    for _ in range(12):
        app.login("hank")
    assert alerts(events) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"brute_forse": {"threshold": 3}}, "unknown detector 'brute_forse'"),
        ({"brute_force": {"treshold": 3}}, "unknown option 'treshold' for detector 'brute_force'"),
        ({"scanning": {"threshold": 0}}, "detector_options['scanning']['threshold']"),
        ({"scanning": {"window": "soon"}}, "detector_options['scanning']['window']"),
        ({"attack_tool": "maybe"}, "detector_options['attack_tool']"),
    ],
)
def test_bad_detector_options_name_the_rule_and_key(telemetry, options, message):
    """A bad detector option is a ConfigError that names the detector and the option."""
    with pytest.raises(seclog.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        App(detector_options=options)


def test_detector_options_from_the_environment(monkeypatch, make_app, events):
    """SECLOG_DETECTOR_OPTIONS takes rule.option=value pairs."""
    monkeypatch.setenv("SECLOG_DETECTOR_OPTIONS", "brute_force.threshold=2,scanning=off")
    app = make_app()
    app.login("ivy")
    app.login("ivy")
    assert events.one("authn_login_fail_max").attributes["security.threshold"] == 2


def test_app_emitted_alert_types_are_never_counted(make_app, events):
    """Alert events and detector outputs do not feed the detectors (no feedback loops)."""
    app = make_app(detector_options={"authz_burst": {"threshold": 2}})
    for _ in range(5):
        app.pipeline.emit("malicious_direct_reference", {"client.address": "192.0.2.1"})
    assert alerts(events) == ["alert_authz_burst"]


def test_alerts_speak_the_security_rule_conventions(make_app, events):
    """Alerts carry OTel security_rule.* attributes next to the deprecated security.rule."""
    app = make_app()
    for _ in range(10):
        app.login("alice")
    alert = events.one("authn_login_fail_max").attributes
    assert alert["security_rule.name"] == alert["security.rule"] == "brute_force"
    assert alert["security_rule.uuid"] == "c25c927a-8db6-5ffa-83b2-f279391a0fa6"
    assert alert["security_rule.ruleset.name"] == "seclog"
    assert alert["security_rule.category"] == "credential-access"
    assert alert["security_rule.version"]
    assert alert["security_rule.description"]
    assert alert["security_rule.reference"].endswith("#brute_force")


@pytest.mark.parametrize("path", ["/missing/{i}", "/tool/{i}"])
def test_every_detector_alert_is_severity_error(make_app, events, path):
    """Scanning and attack-tool alerts leave at ERROR like every other alert."""
    app = make_app()
    agent = "sqlmap/1.7" if "tool" in path else "Mozilla/5.0"
    for i in range(40):
        app.get(path.format(i=i), client="198.51.100.3", user_agent=agent)
    found = [e for e in events if e.type.name in ("malicious_excess_404", "malicious_attack_tool")]
    assert found and {e.type.severity.text for e in found} == {"ERROR"}
