"""seclog's Django receivers never raise into the app: a broken fact is left out, not fatal."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from seclog_core import failure_counts
from seclog_core.testing import CapturedEvents

PASSWORD = "correct-horse-battery-staple-42"


class KeyServiceDownError(RuntimeError):
    """What an encrypted column raises when its key service is unreachable."""


def _raise(*_: Any, **__: Any) -> Any:
    raise KeyServiceDownError("key service unreachable")


def _send(signal: Any, **kwargs: Any) -> None:
    """Send like Django does; send_robust because django-axes' receivers raise on these."""
    results = signal.send_robust(sender=User, request=None, **kwargs)
    ours = [
        (receiver, out)
        for receiver, out in results
        if str(getattr(receiver, "__module__", "")).startswith("seclog_django")
    ]
    assert ours, "no seclog receiver is connected"
    assert [out for _, out in ours if isinstance(out, Exception)] == []


class FragileUser:
    """A user object whose id cannot be read."""

    is_authenticated = True

    @property
    def pk(self) -> Any:
        raise KeyServiceDownError("key service unreachable")

    def get_username(self) -> str:
        return "fragile"


def test_login_of_a_user_whose_name_raises(events: CapturedEvents) -> None:
    """A user whose get_username() raises still yields authn_login_success, with the id."""
    bob = User.objects.create_user("bob", password=PASSWORD)
    bob.get_username = _raise
    _send(user_logged_in, user=bob)
    success = events.one("authn_login_success")
    assert "user.name" not in success.attributes
    assert success.attributes["user.id"] == str(bob.pk)


def test_logout_of_a_user_whose_id_raises(events: CapturedEvents) -> None:
    """A user whose pk raises still yields authn_logout, with the name."""
    _send(user_logged_out, user=FragileUser())
    logout = events.one("authn_logout")
    assert logout.attributes["user.name"] == "fragile"
    assert "user.id" not in logout.attributes


def test_password_change_of_a_user_whose_name_raises(events: CapturedEvents) -> None:
    """set_password() + save() on such a user is still authn_password_change for its id."""
    bob = User.objects.create_user("bob", password=PASSWORD)
    bob.get_username = _raise
    bob.set_password("another-long-password-77")
    bob.save()
    change = events.one("authn_password_change")
    assert change.attributes["user.target.id"] == str(bob.pk)
    assert "user.target.name" not in change.attributes


@pytest.mark.parametrize("credentials", [None, "not-a-dict", {"username": object()}, {}])
def test_odd_failed_login_credentials(credentials: Any, events: CapturedEvents) -> None:
    """Whatever a backend passes as credentials, a failed login is reported and nothing raises."""
    _send(user_login_failed, credentials=credentials)
    assert events.types == ["authn_login_fail"]


def test_a_failing_emit_is_counted_not_raised(
    monkeypatch: pytest.MonkeyPatch, events: CapturedEvents
) -> None:
    """When seclog's own emit path breaks, the signal's sender goes on and the failure is
    counted under the receiver's name."""
    from seclog_django import _request

    monkeypatch.setattr(_request, "username_of", _raise)
    monkeypatch.setattr("seclog_django.receivers.username_of", _raise)
    before = failure_counts().get("django.logged_out", 0)
    _send(user_logged_out, user=FragileUser())
    assert failure_counts().get("django.logged_out", 0) == before + 1
