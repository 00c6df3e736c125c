"""The vocabulary: OWASP names, seclog additions, app-registered types."""

from __future__ import annotations

import pytest

import seclog_core as seclog
from seclog_core.vocabulary import VOCABULARY, Severity, get_event_type


def test_owasp_and_seclog_types_are_known() -> None:
    """Every type the design names is in the table with a description."""
    for name in (
        "authn_login_success",
        "authn_login_fail",
        "authn_login_fail_max",
        "authn_login_lock",
        "authn_password_change",
        "authn_password_change_fail",
        "authn_token_created",
        "authn_token_revoked",
        "authn_token_reuse",
        "authz_fail",
        "authz_change",
        "authz_admin",
        "excess_rate_limit_exceeded",
        "input_validation_fail",
        "malicious_excess_404",
        "malicious_extraneous",
        "malicious_attack_tool",
        "malicious_cors",
        "malicious_direct_reference",
        "privilege_permissions_changed",
        "sensitive_read",
        "sequence_fail",
        "session_created",
        "sys_startup",
        "upload_complete",
        "user_created",
        "user_updated",
        "user_archived",
        "user_deleted",
        "authn_fail",
        "sys_error",
        "authn_logout",
        "authn_login_successafterfail",
    ):
        assert VOCABULARY[name].description


def test_severities_follow_the_outcome() -> None:
    """Successes are INFO, failures WARN, server errors and alerts ERROR."""
    assert get_event_type("authn_login_success").severity is Severity.INFO
    assert get_event_type("authn_login_fail").severity is Severity.WARN
    assert get_event_type("sys_error").severity is Severity.ERROR
    assert all(t.severity is Severity.ERROR for t in VOCABULARY.values() if t.is_alert)


def test_wire_name_is_accepted() -> None:
    """`security.<type>` looks up the same entry as the bare type."""
    assert get_event_type("security.authz_fail") is get_event_type("authz_fail")


def test_unknown_type_is_a_clear_error() -> None:
    """An unknown type is refused with a message that says how to register one."""
    with pytest.raises(seclog.UnknownEventTypeError, match="register_event_type"):
        seclog.emit("authn_login_oops")


def test_apps_can_register_their_own_type() -> None:
    """A registered type is emitted like a built-in one."""
    entry = seclog.register_event_type(
        "billing_refund_denied", severity="WARN", outcome="failure", description="Refund denied."
    )
    assert get_event_type("billing_refund_denied") == entry
    # Same definition again is fine; a different one is not.
    seclog.register_event_type(
        "billing_refund_denied", severity="WARN", outcome="failure", description="Refund denied."
    )
    with pytest.raises(ValueError, match="already defined"):
        seclog.register_event_type("billing_refund_denied", severity="INFO")


@pytest.mark.parametrize("bad", ["", "Bad-Name", "1abc", "x" * 80, "a b"])
def test_registration_rejects_bad_names(bad: str) -> None:
    """Names must be lower_snake_case so they stay valid on the wire."""
    with pytest.raises(ValueError, match="lower_snake_case"):
        seclog.register_event_type(bad)
