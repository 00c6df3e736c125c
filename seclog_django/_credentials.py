"""Models whose ``str()`` (and often primary key) is a credential.

Django's admin log keeps ``str(obj)`` as ``object_repr`` and ``obj.pk`` as
``object_id``; for these models that is the secret itself (a DRF token's key is
its primary key, a session's key is its primary key). Their admin events name
the model only, plus the primary key when it is a plain counter. Sites add
their own with ``SECLOG = {"credential_models": ["app_label.ModelName"]}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

__all__ = ["KNOWN", "is_credential", "safe_object_id"]

KNOWN: frozenset[str] = frozenset(
    {
        # Django
        "sessions.session",
        # Django REST framework authtoken (the admin registers the proxy)
        "authtoken.token",
        "authtoken.tokenproxy",
        # django-rest-knox
        "knox.authtoken",
        # djangorestframework-simplejwt's blacklist app
        "token_blacklist.outstandingtoken",
        "token_blacklist.blacklistedtoken",
        # django-oauth-toolkit (Application carries client_secret)
        "oauth2_provider.accesstoken",
        "oauth2_provider.refreshtoken",
        "oauth2_provider.grant",
        "oauth2_provider.idtoken",
        "oauth2_provider.application",
        # django-allauth
        "socialaccount.socialtoken",
        "socialaccount.socialapp",
        "mfa.authenticator",
        # django-otp and its plugins
        "otp_totp.totpdevice",
        "otp_hotp.hotpdevice",
        "otp_static.staticdevice",
        "otp_static.statictoken",
        "otp_email.emaildevice",
        "otp_yubikey.yubikeydevice",
        "otp_yubikey.remoteyubikeydevice",
        "otp_yubikey.validationservice",
        "two_factor.phonedevice",
        "otp_webauthn.webauthncredential",
    }
)

_COUNTERS = (models.AutoField, models.BigAutoField, models.SmallAutoField, models.UUIDField)


def _labels(model: Any) -> set[str]:
    meta = model._meta
    labels = {str(meta.label_lower)}
    concrete = getattr(meta, "concrete_model", None)
    if concrete is not None:
        labels.add(str(concrete._meta.label_lower))
    for parent in meta.get_parent_list():
        labels.add(str(parent._meta.label_lower))
    return labels


def is_credential(model: Any, extra: Iterable[str] = ()) -> bool:
    """Whether ``model`` (or the model it proxies or inherits) is a credential model."""
    wanted = KNOWN | {name.lower() for name in extra}
    return bool(_labels(model) & wanted)


def safe_object_id(model: Any, object_id: object) -> str | None:
    """The object id when the primary key is a counter or UUID; None when it may be the secret."""
    if object_id is None:
        return None
    pk = model._meta.pk
    return str(object_id) if isinstance(pk, _COUNTERS) else None
