"""Parity: one scripted scenario through Django (gunicorn), Flask (gunicorn) and FastAPI (uvicorn).

All three export over OTLP to one real receiver. Each stream must equal the
canonical stream below, event for event, in type, severity, outcome, reason
and attribute names; the only differences allowed are listed in
``KNOWN_DIFFERENCES``, each with the fact the framework cannot know (or the
reported defect it stands for).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.otlp import Receiver

from .apps import BOOM_SECRET
from .scenario import FORGED_XFF, INJECTED_USERNAME, WRONG, run_scenario, shape, stream
from .servers import KINDS, running

CONTEXT = {
    "client.address", "http.request.method", "http.route", "network.peer.address",
    "security.event", "security.level", "security.outcome", "server.address", "url.path",
    "url.scheme", "user_agent.original",
}  # fmt: skip
USER = {"user.id", "user.name"}
STATUS = {"http.response.status_code"}
EXCEPTION = {"error.type", "exception.message", "exception.type"}
DETECTOR = {
    "security.count", "security.key", "security.key_field", "security.reason",
    "security.retry_count", "security.rule", "security.threshold", "security.window_seconds",
    "security_rule.name", "security_rule.uuid", "security_rule.ruleset.name",
    "security_rule.category", "security_rule.description", "security_rule.reference",
    "security_rule.version",
}  # fmt: skip
WARN, INFO, ERROR = (13, "WARN"), (9, "INFO"), (17, "ERROR")


def _event(
    name: str,
    sev: Any,
    outcome: str,
    reason: str | None,
    extra: set[str],
    without: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    names = (CONTEXT | extra | ({"security.reason"} if reason else set())) - without
    return {
        "event": f"security.{name}",
        "severity": sev,
        "outcome": outcome,
        "reason": reason,
        "names": sorted(names),
    }


LOGIN_FAIL = _event("authn_login_fail", WARN, "failure", "bad_credentials", {"user.name"})
CANONICAL = [
    ("login_fail", LOGIN_FAIL),
    ("login_fail", LOGIN_FAIL),
    ("login_fail", LOGIN_FAIL),
    ("login_ok", _event("authn_login_success", INFO, "success", None, USER)),
    (
        "login_ok",
        _event(
            "authn_login_successafterfail", WARN, "success", "success_after_fail", USER | DETECTOR
        ),
    ),
    ("admin_403", _event("authz_fail", WARN, "failure", "forbidden", USER | STATUS)),
    ("logout", _event("authn_logout", INFO, "success", None, USER)),
    ("private_401", _event("authn_fail", WARN, "failure", "unauthenticated", STATUS)),
    ("limited_429", _event("excess_rate_limit_exceeded", WARN, "failure", "rate_limited", STATUS)),
    ("csrf", _event("input_validation_fail", WARN, "failure", "csrf_token_missing", STATUS)),
    ("boom_500", _event("sys_error", ERROR, "failure", "unhandled_exception", STATUS | EXCEPTION)),
    (
        "forged_xff",
        _event(
            "malicious_extraneous",
            WARN,
            "failure",
            "untrusted_forwarded_header",
            {"security.forwarded"},
            # Reported at request start, before any framework has routed the request.
            without=frozenset({"http.route"}),
        ),
    ),
    ("injected_username", LOGIN_FAIL),
]
STATUSES = {
    "login_fail": 401, "login_ok": 200, "admin_403": 403, "logout": 200, "private_401": 401,
    "limited_429": 429, "csrf": 403, "boom_500": 500, "forged_xff": 200, "injected_username": 401,
}  # fmt: skip

# (framework, scenario step, event) -> (what differs, why). "drop" removes the event.
KNOWN_DIFFERENCES: dict[tuple[str, str, str], tuple[dict[str, Any], str]] = {
    ("django", "admin_403", "security.authz_fail"): (
        {"reason": "permission_denied", "add_names": EXCEPTION},
        "the Django view raises PermissionDenied (idiomatic), so seclog_django knows the "
        "exception; Flask and FastAPI only see a 403 status",
    ),
    ("django", "csrf", "security.input_validation_fail"): (
        {"reason": "csrf_cookie_not_set"},
        "Django checks the CSRF cookie before the token and names that failure",
    ),
    ("flask", "csrf", "status"): ({"status": 400}, "Flask-WTF answers a CSRF failure with 400"),
    ("fastapi", "csrf", "security.input_validation_fail"): (
        {"drop": True},
        "FastAPI has no CSRF protection: the form is accepted",
    ),
    ("fastapi", "csrf", "status"): ({"status": 200}, "FastAPI has no CSRF protection"),
}


def expected_stream(kind: str) -> list[dict[str, Any]]:
    out = []
    for step, event in CANONICAL:
        patch, _why = KNOWN_DIFFERENCES.get((kind, step, event["event"]), ({}, ""))
        if patch.get("drop"):
            continue
        event = dict(event)
        if "reason" in patch:
            event["reason"] = patch["reason"]
        names = (set(event["names"]) | set(patch.get("add_names", ()))) - set(
            patch.get("remove_names", ())
        )
        event["names"] = sorted(names)
        out.append(event)
    return out


def expected_statuses(kind: str) -> list[tuple[str, int]]:
    steps = ["login_fail"] * 3 + [s for s, _ in CANONICAL[3:] if s != "login_ok"]
    steps.insert(3, "login_ok")
    result = []
    for step in steps:
        patch, _ = KNOWN_DIFFERENCES.get((kind, step, "status"), ({}, ""))
        result.append((step, patch.get("status", STATUSES[step])))
    return result


@pytest.fixture(scope="module")
def streams(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run the scenario through all three servers at once; collect each one's stream."""
    workdir = tmp_path_factory.mktemp("parity")

    def one(kind: str) -> list[tuple[str, int]]:
        with running(kind, workdir / kind, receiver.env("grpc")) as server:
            statuses = run_scenario(server)
            # Delivery is checked while the server runs; shutdown has its own test.
            want = len(expected_stream(kind))
            receiver.collected.wait_for(
                lambda c: len(stream(c.security_logs(), f"hostile-{kind}")) >= want, timeout=20
            )
            return statuses

    with ThreadPoolExecutor(3) as pool:
        statuses = dict(zip(KINDS, pool.map(one, KINDS), strict=True))
    logs = receiver.collected.security_logs()
    return statuses, {kind: stream(logs, f"hostile-{kind}") for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_every_adapter_emits_the_same_event_stream(streams: Any, kind: str) -> None:
    """The scenario yields the canonical events, in order, differing only where listed."""
    _statuses, by_kind = streams
    got, want = [shape(log) for log in by_kind[kind]], expected_stream(kind)
    # Detector outputs come from the detectors' own thread: after the event that triggered
    # them, possibly after events of the next requests too. Each order is compared apart.
    assert [s for s in got if not _detected(s)] == [s for s in want if not _detected(s)]
    assert [s for s in got if _detected(s)] == [s for s in want if _detected(s)]
    for at, output in enumerate(want):
        if _detected(output):
            trigger = want[at - 1]
            assert got.index(trigger) < got.index(output), "an alert came before its trigger"


def _detected(event: dict[str, Any]) -> bool:
    return "security_rule.name" in event["names"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_app_answers_the_scenario_normally(streams: Any, kind: str) -> None:
    """With seclog installed, each app's responses are exactly what the app itself decided."""
    statuses, _ = streams
    assert statuses[kind] == expected_statuses(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_scenario_values_are_right_and_safe(streams: Any, kind: str) -> None:
    """Users, client address and status are right; the forged header, secret and injection fail."""
    _, by_kind = streams
    logs = by_kind[kind]
    for log in logs:
        assert log.attributes["client.address"] == "127.0.0.1", "a forged XFF became the client"
        assert WRONG not in repr(log.attributes) + str(log.body)
    # The detectors' alerts may land among the scenario's events (their own thread).
    scenario = [log for log in logs if "security_rule.name" not in log.attributes]
    names = [log.attributes.get("user.name") for log in scenario[:6]]
    assert names == ["alice"] * 6
    verdict = next(log for log in logs if log.event_name.endswith("successafterfail"))
    assert verdict.attributes["user.name"] == "alice"
    spoof = next(log for log in logs if log.event_name == "security.malicious_extraneous")
    assert spoof.attributes["security.forwarded"] == FORGED_XFF
    boom = next(log for log in logs if log.event_name == "security.sys_error")
    assert boom.attributes["http.response.status_code"] == 500
    assert boom.attributes["exception.type"] == "RuntimeError"
    assert BOOM_SECRET.split("=")[1] not in boom.attributes["exception.message"]
    injected = scenario[-1]
    assert injected.attributes["user.name"] != INJECTED_USERNAME
    assert "\n" not in injected.attributes["user.name"]
    assert "\x1b" not in injected.attributes["user.name"]
    assert "mallory" in injected.attributes["user.name"]
    # The injected text forged no record: every success in the stream is alice's real one.
    successes = [log for log in logs if log.event_name == "security.authn_login_success"]
    assert [log.attributes["user.name"] for log in successes] == ["alice"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_stream_is_sequenced_without_gaps(streams: Any, kind: str) -> None:
    """Each server's events arrive with one stream id and consecutive sequence numbers."""
    _, by_kind = streams
    logs = by_kind[kind]
    assert len({log.attributes["seclog.stream_id"] for log in logs}) == 1
    sequence = [log.attributes["seclog.sequence"] for log in logs]
    assert sequence == list(range(sequence[0], sequence[0] + len(sequence)))


def test_derived_event_keeps_the_user_id_the_app_reported(streams: Any) -> None:
    """A derived success-after-failures event names the same user id as the login it follows."""
    _, by_kind = streams
    logs = by_kind["fastapi"]
    success = next(log for log in logs if log.event_name == "security.authn_login_success")
    derived = next(log for log in logs if log.event_name == "security.authn_login_successafterfail")
    assert derived.attributes.get("user.id") == success.attributes["user.id"] == "1"
