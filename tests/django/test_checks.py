"""System checks catch a seclog setup that would silently miss events."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

SECLOG_MW = "seclog_django.middleware.SecurityLoggingMiddleware"
AUTH_MW = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _seclog_ids() -> list[str]:
    return sorted(m.id for m in run_checks() if (m.id or "").startswith("seclog."))


def test_the_test_site_is_clean() -> None:
    """The documented setup passes every seclog check."""
    assert _seclog_ids() == []


def test_missing_middleware_is_w001() -> None:
    """No SecurityLoggingMiddleware in MIDDLEWARE: seclog.W001."""
    without = [m for m in settings.MIDDLEWARE if m != SECLOG_MW]
    with override_settings(MIDDLEWARE=without):
        assert _seclog_ids() == ["seclog.W001"]


def test_middleware_before_authentication_is_w002() -> None:
    """The middleware placed before AuthenticationMiddleware: seclog.W002."""
    reordered = [m for m in settings.MIDDLEWARE if m != SECLOG_MW]
    reordered.insert(reordered.index(AUTH_MW), SECLOG_MW)
    with override_settings(MIDDLEWARE=reordered):
        assert _seclog_ids() == ["seclog.W002"]


def test_missing_app_is_w003() -> None:
    """The middleware without the app in INSTALLED_APPS: seclog.W003."""
    apps = [a for a in settings.INSTALLED_APPS if a != "seclog_django"]
    with override_settings(INSTALLED_APPS=apps):
        assert "seclog.W003" in _seclog_ids()


def test_proxy_headers_without_trusted_proxies_is_w004() -> None:
    """USE_X_FORWARDED_HOST with no trusted proxies: seclog.W004; naming proxies clears it."""
    with override_settings(USE_X_FORWARDED_HOST=True):
        assert _seclog_ids() == ["seclog.W004"]
    with override_settings(USE_X_FORWARDED_HOST=True, SECLOG={"trusted_proxy_count": 1}):
        assert _seclog_ids() == []


def test_invalid_setting_is_e001_naming_the_key() -> None:
    """A bad SECLOG value is seclog.E001 whose message names the key."""
    with override_settings(SECLOG={"trusted_proxies": ["not-an-address"]}):
        errors = [m for m in run_checks() if m.id == "seclog.E001"]
    assert len(errors) == 1 and "trusted_proxies" in errors[0].msg
    with override_settings(SECLOG={"no_such_setting": 1}):
        errors = [m for m in run_checks() if m.id == "seclog.E001"]
    assert len(errors) == 1 and "no_such_setting" in errors[0].msg


def test_upper_case_and_prefixed_keys_are_accepted() -> None:
    """SECLOG keys may be written TRUSTED_PROXIES or SECLOG_TRUSTED_PROXIES."""
    from seclog_django.settings import build_pipeline

    with override_settings(SECLOG={"SECLOG_TRUSTED_PROXIES": "10.0.0.0/8", "ECS": True}):
        built = build_pipeline().settings
    assert built.trusted_proxies == ("10.0.0.0/8",) and built.ecs is True
