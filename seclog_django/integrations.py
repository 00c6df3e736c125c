"""Optional integrations, each connected only when its package is installed.

- django-axes: a lockout is ``authn_login_lock``.
- django-allauth: its signals for what Django's own signals do not show (e-mail
  changes, login and reset codes rejected, MFA authenticators, social accounts);
  signup and password changes are reported once (the user model's receivers
  usually saw them first). Login failures come through Django's
  ``user_login_failed``, which allauth's password login sends.

Every receiver is guarded and reads only what the signal hands over: no query.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.dispatch import Signal

from seclog_core.adapters import guarded

from ._emit import emit
from ._names import id_of
from ._request import acting_user, bound_request, username_of
from .receivers import _AUTH_METHOD, mark_reported, was_reported

__all__ = ["connect"]


def _target(user: Any) -> dict[str, object]:
    return {
        "user.target.name": username_of(user, authenticated=False),
        "user.target.id": id_of(user),
        "user.changes.name": username_of(acting_user(bound_request())),
    }


def _target_by_id(user_id: Any) -> dict[str, object]:
    # e.g. an EmailAddress: its user_id column, the name only if that user is the one signed in.
    actor = acting_user(bound_request())
    same = actor is not None and user_id is not None and id_of(actor) == str(user_id)
    return {
        "user.target.id": None if user_id is None else str(user_id),
        "user.target.name": username_of(actor) if same else None,
        "user.changes.name": username_of(actor),
    }


def _provider(sociallogin: Any) -> str | None:
    account = getattr(sociallogin, "account", None)
    provider = getattr(account, "provider", None)
    return str(provider) if provider else None


# --- django-axes ----------------------------------------------------------------------


def _locked_out(sender: Any, request: Any = None, username: Any = None, **_: Any) -> None:
    with guarded("django.axes.locked_out"):
        emit(
            "authn_login_lock",
            {
                "user.name": str(username) if username else None,
                "security.reason": "too_many_failures",
            },
        )


# --- django-allauth: account ----------------------------------------------------------


def _signed_up(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    with guarded("django.allauth.signed_up"):
        if was_reported("user_created", user):
            return
        emit(
            "user_created",
            {
                **_target(user),
                "security.reason": "signup",
                "security.auth_method": _provider(kwargs.get("sociallogin")),
            },
        )
        mark_reported("user_created", user)


def _password(reason: str) -> Any:
    def receiver(sender: Any, request: Any = None, user: Any = None, **_: Any) -> None:
        with guarded(f"django.allauth.{reason}"):
            if was_reported("authn_password_change", user):
                return
            emit("authn_password_change", {**_target(user), "security.reason": reason})
            mark_reported("authn_password_change", user)

    return receiver


def _email(reason: str) -> Any:
    def receiver(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
        with guarded(f"django.allauth.{reason}"):
            if user is not None:
                target = _target(user)
            else:  # email_confirmed hands over the address only
                address = kwargs.get("email_address")
                target = _target_by_id(getattr(address, "__dict__", {}).get("user_id"))
            emit("user_updated", {**target, "security.reason": reason})

    return receiver


def _code_rejected(event: str, reason: str) -> Any:
    def receiver(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
        with guarded(f"django.allauth.{reason}"):
            attributes: dict[str, object] = {
                "user.name": username_of(user, authenticated=False),
                "security.reason": reason,
            }
            if kwargs.get("last_attempt"):
                attributes["security.last_attempt"] = True
            emit(event, attributes)

    return receiver


# --- django-allauth: MFA --------------------------------------------------------------


def _kind(authenticator: Any) -> str | None:
    kind = getattr(authenticator, "__dict__", {}).get("type")
    return str(kind) if kind else None


def _authenticator(event: str, reason: str) -> Any:
    def receiver(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
        with guarded(f"django.allauth.{reason}"):
            authenticator = kwargs.get("authenticator")
            emit(
                event,
                {
                    **_target(user),
                    "security.reason": reason,
                    "security.auth_method": _kind(authenticator),
                    "security.object_id": id_of(authenticator),
                },
            )

    return receiver


def _mfa_failed(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    with guarded("django.allauth.mfa_failed"):
        reason = "mfa_reauthentication_failed" if kwargs.get("reauthentication") else "mfa_failed"
        emit(
            "authn_login_fail",
            {
                "user.name": username_of(user, authenticated=False),
                "user.id": id_of(user),
                "security.reason": reason,
                "security.auth_method": _kind(kwargs.get("authenticator")),
            },
        )


# --- django-allauth: social accounts --------------------------------------------------


def _pre_social_login(sender: Any, request: Any = None, sociallogin: Any = None, **_: Any) -> None:
    with guarded("django.allauth.pre_social_login"):
        provider = _provider(sociallogin)
        if request is not None and provider:
            # authn_login_success (Django's user_logged_in, next) names the provider.
            request.__dict__[_AUTH_METHOD] = provider


def _social_added(sender: Any, request: Any = None, sociallogin: Any = None, **_: Any) -> None:
    with guarded("django.allauth.social_account_added"):
        user = getattr(sociallogin, "user", None)
        emit(
            "user_updated",
            {
                **_target(user),
                "security.reason": "social_account_added",
                "security.auth_method": _provider(sociallogin),
            },
        )


def _social_removed(sender: Any, request: Any = None, socialaccount: Any = None, **_: Any) -> None:
    with guarded("django.allauth.social_account_removed"):
        values = getattr(socialaccount, "__dict__", {})
        provider = values.get("provider")
        emit(
            "user_updated",
            {
                **_target_by_id(values.get("user_id")),
                "security.reason": "social_account_removed",
                "security.auth_method": str(provider) if provider else None,
            },
        )


def _connect(signal: Signal, receiver: Any, uid: str) -> None:
    signal.connect(receiver, dispatch_uid=f"seclog.{uid}", weak=False)


def _connect_allauth() -> None:
    from allauth.account import signals as account  # type: ignore[import-untyped]

    _connect(account.user_signed_up, _signed_up, "allauth.signed_up")
    for name in ("password_changed", "password_set", "password_reset"):
        _connect(getattr(account, name), _password(name), f"allauth.{name}")
    for name in ("email_changed", "email_confirmed", "email_added", "email_removed"):
        _connect(getattr(account, name), _email(name), f"allauth.{name}")
    rejected = (
        ("login_code_rejected", "authn_login_fail"),
        ("password_reset_code_rejected", "authn_password_change_fail"),
        ("email_verification_code_rejected", "input_validation_fail"),
    )
    for name, event in rejected:
        signal = getattr(account, name, None)
        if signal is not None:
            _connect(signal, _code_rejected(event, name), f"allauth.{name}")
    if apps.is_installed("allauth.mfa"):
        from allauth.mfa import signals as mfa  # type: ignore[import-untyped]

        _connect(
            mfa.authenticator_added,
            _authenticator("authn_token_created", "mfa_authenticator_added"),
            "allauth.mfa_added",
        )
        _connect(
            mfa.authenticator_removed,
            _authenticator("authn_token_revoked", "mfa_authenticator_removed"),
            "allauth.mfa_removed",
        )
        _connect(
            mfa.authenticator_reset,
            _authenticator("authn_token_created", "mfa_recovery_codes_regenerated"),
            "allauth.mfa_reset",
        )
        failed = getattr(mfa, "authentication_failed", None)
        if failed is not None:
            _connect(failed, _mfa_failed, "allauth.mfa_failed")
    if apps.is_installed("allauth.socialaccount"):
        from allauth.socialaccount import signals as social  # type: ignore[import-untyped]

        _connect(social.pre_social_login, _pre_social_login, "allauth.pre_social_login")
        _connect(social.social_account_added, _social_added, "allauth.social_added")
        _connect(social.social_account_removed, _social_removed, "allauth.social_removed")


def connect() -> None:
    """Connect the integrations whose packages are installed (idempotent)."""
    if apps.is_installed("axes"):
        from axes.signals import user_locked_out  # type: ignore[import-untyped]

        _connect(user_locked_out, _locked_out, "axes_locked_out")
    if apps.is_installed("allauth.account"):
        _connect_allauth()
