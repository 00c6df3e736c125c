"""fastapi-users: its UserManager hooks and its logout, as security events.

fastapi-users has no global signals: what happens to an account is told to the
app's ``UserManager`` through ``on_after_*`` hooks, and logout only to the
authentication backend. Add the mixin first in the UserManager's bases, and use
the backend class in place of ``AuthenticationBackend``::

    from seclog_asgi.integrations.fastapi_users import (
        SecLogAuthenticationBackend,
        SecLogUserManagerMixin,
    )

    class UserManager(SecLogUserManagerMixin, UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        ...  # your hooks as before: seclog reports before each of them runs

    auth_backend = SecLogAuthenticationBackend(name="jwt", transport=..., get_strategy=...)

Events: login -> ``authn_login_success``, bad credentials -> ``authn_login_fail``,
logout -> ``authn_logout``, register -> ``user_created``, forgot password and
request verify -> ``authn_token_created`` (never the token), reset password ->
``authn_password_change`` (a refused reset -> ``authn_password_change_fail``),
verify and update -> ``user_updated`` (changed field names only), delete ->
``user_deleted``. A hook the app overrides is reported too, once, whether or not
it calls ``super()``. Without the mixin, the login route is still recognised
(the OAuth2 password form) and its 400 ``LOGIN_BAD_CREDENTIALS`` reported.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

try:
    from fastapi_users.authentication import AuthenticationBackend
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "seclog_asgi.integrations.fastapi_users needs fastapi-users: "
        "pip install 'fastapi-users[sqlalchemy]'"
    ) from exc

import seclog_core as seclog
from seclog_core.adapters import guarded

__all__ = ["SecLogAuthenticationBackend", "SecLogUserManagerMixin"]

Hook = Callable[..., Awaitable[Any]]
_active: ContextVar[frozenset[str]] = ContextVar("seclog_fastapi_users_hooks", default=frozenset())


def _who(user: Any) -> dict[str, Any]:
    identity = getattr(user, "id", None)
    email = getattr(user, "email", None)
    return {
        "user_id": str(identity)[:256] if identity is not None else None,
        "username": str(email)[:256] if email else None,
    }


def _target(user: Any) -> dict[str, Any]:
    who = _who(user)
    return {"target_user": who["username"], "target_user_id": who["user_id"]}


def _field_names(update: object) -> str | None:
    if not isinstance(update, Mapping):
        return None
    return ",".join(sorted(str(key) for key in update if key != "password"))[:512] or None


def _login(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    seclog.login_succeeded(**_who(user), auth_method="fastapi-users")


def _register(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    seclog.user_created(**_target(user), reason="registered")


def _update(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    update = args[0] if args else kwargs.get("update_dict")
    if isinstance(update, Mapping) and "password" in update:
        seclog.password_changed(**_who(user), reason="updated")
    fields = _field_names(update)
    if fields:
        seclog.emit("user_updated", **_target(user), reason="updated", fields=fields)


def _token(reason: str) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], None]:
    def report(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        seclog.token_created(**_who(user), reason=reason)  # the token itself never leaves

    return report


def _reset(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    seclog.password_changed(**_who(user), reason="password_reset")


def _verify(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    seclog.emit("user_updated", **_target(user), reason="email_verified")


def _delete(user: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    seclog.user_deleted(**_target(user))


# Hook name -> what it reports: a literal table, in fastapi-users' own order.
_REPORTERS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], None]] = {
    "on_after_register": _register,
    "on_after_update": _update,
    "on_after_request_verify": _token("verification_requested"),
    "on_after_verify": _verify,
    "on_after_forgot_password": _token("password_reset_requested"),
    "on_after_reset_password": _reset,
    "on_after_login": _login,
    "on_after_delete": _delete,
}


def _reporting(name: str, hook: Hook) -> Hook:
    """``hook`` reported once per call, before it runs (an override calling super() included)."""
    if getattr(hook, "__seclog_reported__", False):
        return hook

    @functools.wraps(hook)
    async def reported(self: Any, user: Any, *args: Any, **kwargs: Any) -> Any:
        active = _active.get()
        if name in active:
            return await hook(self, user, *args, **kwargs)
        with guarded(f"fastapi_users.{name}"):
            _REPORTERS[name](user, args, kwargs)
        token = _active.set(active | {name})
        try:
            return await hook(self, user, *args, **kwargs)
        finally:
            _active.reset(token)

    reported.__seclog_reported__ = True  # type: ignore[attr-defined]
    return reported


def _passthrough(name: str) -> Hook:
    async def hook(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await getattr(super(SecLogUserManagerMixin, self), name)(*args, **kwargs)

    hook.__name__ = name
    return hook


class SecLogUserManagerMixin:
    """Reports a fastapi-users UserManager's account events; put it first in the bases."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _REPORTERS:
            own = cls.__dict__.get(name)
            if own is not None and callable(own):
                setattr(cls, name, _reporting(name, own))

    async def authenticate(self, credentials: Any) -> Any:
        """fastapi-users' authenticate; a refused one is ``authn_login_fail``."""
        user = await super().authenticate(credentials)  # type: ignore[misc]
        if user is None:
            with guarded("fastapi_users.authenticate"):
                name = getattr(credentials, "username", None)
                seclog.login_failed(
                    username=str(name)[:256] if name else None, reason="bad_credentials"
                )
        return user

    async def reset_password(self, token: str, password: str, request: Any = None) -> Any:
        """fastapi-users' reset_password; a refused reset is ``authn_password_change_fail``."""
        try:
            return await super().reset_password(token, password, request)  # type: ignore[misc]
        except Exception as exc:
            with guarded("fastapi_users.reset_password"):
                seclog.password_change_failed(reason=_reason(exc))
            raise


def _reason(exc: Exception) -> str:
    """``InvalidResetPasswordToken`` -> ``invalid_reset_password_token``."""
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")[:64]


for _name in _REPORTERS:
    setattr(SecLogUserManagerMixin, _name, _reporting(_name, _passthrough(_name)))


class SecLogAuthenticationBackend(AuthenticationBackend):  # type: ignore[type-arg]
    """``AuthenticationBackend`` whose logout is reported as ``authn_logout``."""

    async def logout(self, strategy: Any, user: Any, token: str) -> Any:
        with guarded("fastapi_users.logout"):
            seclog.logout(**_who(user))
        return await super().logout(strategy, user, token)
