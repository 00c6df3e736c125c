"""seclog's own settings: one table, three sources, validated at start-up.

Keyword arguments win over the framework's settings (Django's ``SECLOG`` dict,
Flask's ``app.config["SECLOG_*"]``), which win over ``SECLOG_*`` environment
variables. A bad value is a :class:`ConfigError` naming the key and the
expected form. Export itself is configured by the standard ``OTEL_*`` variables.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .client_ip import TrustedProxies
from .field_policy import policy_errors

__all__ = ["ConfigError", "Settings", "closest", "load_settings"]


class ConfigError(ValueError):
    """A seclog setting has a value of the wrong form."""


@dataclass(frozen=True)
class Settings:
    """Every seclog setting with its default. Field name = lower-case env name sans prefix."""

    enabled: bool = True
    trusted_proxies: tuple[str, ...] = ()
    trusted_proxy_count: int = 0
    # The one header the operator's proxy sets: X-Forwarded-For, Forwarded, X-Real-IP, ...
    forwarded_header: str = "X-Forwarded-For"
    redact_keys: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    redact_veto: Callable[..., bool] | None = None
    pseudonymize_key: str | None = None
    field_policies: Mapping[str, str] = field(default_factory=dict)
    max_value_length: int = 2048
    ecs: bool = False
    ocsf: bool = False
    span_events: bool = True
    own_spans: bool = True
    local_sink: str = "auto"  # auto | stderr | none
    integrity_key: str | None = None
    integrity_key_id: str = "k1"
    spool_dir: str | None = None
    spool_max_bytes: int = 64 * 1024 * 1024
    spool_drop: str = "oldest"  # oldest | newest
    detectors: bool = True
    redis_url: str | None = None
    redis_timeout: float = 0.05
    detector_options: Mapping[str, Any] = field(default_factory=dict)
    flood_limit: int = 100
    flood_window: float = 60.0
    detector_max_keys: int = 10_000  # per detector and for flood control: the memory cap
    # Where detector windows live: host (SQLite shared by this host's workers), process, redis.
    detector_state: str = "host"
    state_dir: str | None = None  # host state; default: the user cache dir /seclog/state
    detector_ipv6_prefix: int = 64  # IPv6 clients are counted per prefix of this length
    forwarded_warning: bool = True
    # Scrub the framework's and server's error loggers (django.request, uvicorn.error, ...).
    scrub_server_logs: bool = True
    # ASGI logins read from the request: extra route paths/patterns, and the user-name field.
    login_routes: tuple[str, ...] = ()
    login_username_field: str = "username"
    # Models whose str() is a credential ("app_label.ModelName"): admin events name model + pk.
    credential_models: tuple[str, ...] = ()
    # The app's own OpenTelemetry providers, handed over explicitly (never from the environment).
    logger_provider: Any = field(default=None, repr=False, compare=False)
    tracer_provider: Any = field(default=None, repr=False, compare=False)
    meter_provider: Any = field(default=None, repr=False, compare=False)

    @property
    def proxies(self) -> TrustedProxies:
        return TrustedProxies.parse(
            self.trusted_proxies, self.trusted_proxy_count, self.forwarded_header
        )


_FIELDS = {f.name: f for f in fields(Settings)}
# Objects only code can pass (providers): an environment variable cannot name one.
_OBJECT_SETTINGS = frozenset({"logger_provider", "tracer_provider", "meter_provider"})
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_CHOICES = {
    "local_sink": ("auto", "stderr", "none"),
    "spool_drop": ("oldest", "newest"),
    "detector_state": ("host", "process", "redis"),
}


# Settings whose value is (or may carry) a secret: an error names them, never prints them.
_SECRET_SETTINGS = frozenset({"integrity_key", "pseudonymize_key", "redis_url"})
_SECRET_WORDS = ("secret", "password", "token")


def _is_secret(key: str) -> bool:
    return (
        key in _SECRET_SETTINGS
        or key.endswith(("_key", "_url", "_dsn"))
        or any(word in key for word in _SECRET_WORDS)
    )


def _fail(key: str, value: object, expected: str) -> ConfigError:
    if _is_secret(key):
        return ConfigError(
            f"seclog setting {key} (value not shown: it may be a secret) is invalid: "
            f"expected {expected}, got a value of type {type(value).__name__}"
        )
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ConfigError(f"seclog setting {key}={shown} is invalid: expected {expected}")


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (a typo's intended key), or None."""
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _as_list(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset):
        if not all(isinstance(item, str) for item in value):
            raise _fail(key, value, "a list of strings")
        return tuple(value)
    raise _fail(key, value, "a comma-separated string or a list of strings")


def _as_mapping(key: str, value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        result: dict[str, Any] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            name, sep, item = part.partition("=")
            if not sep:
                raise _fail(key, value, "comma-separated name=value pairs")
            result[name.strip()] = item.strip()
        return result
    raise _fail(key, value, "a mapping or comma-separated name=value pairs")


def _coerce(key: str, value: object) -> Any:
    spec = _FIELDS[key]
    kind = str(spec.type)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _fail(key, value, "true or false")
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise _fail(key, value, f"a non-negative {'integer' if kind == 'int' else 'number'}")
        try:
            number = int(value) if kind == "int" else float(value)  # type: ignore[call-overload,arg-type]
        except (TypeError, ValueError):
            raise _fail(
                key, value, f"a non-negative {'integer' if kind == 'int' else 'number'}"
            ) from None
        if number < 0:
            raise _fail(key, value, "a non-negative number")
        return number
    if kind == "tuple[str, ...]":
        return _as_list(key, value)
    if kind.startswith("Mapping"):
        return _as_mapping(key, value)
    if kind == "Callable[..., bool] | None":
        if value is not None and not callable(value):
            raise _fail(key, value, "a callable or None")
        return value
    if kind in ("str", "str | None"):
        if value is None and kind == "str | None":
            return None
        if not isinstance(value, str):
            raise _fail(key, value, "a string")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise _fail(key, value, " or ".join(_CHOICES[key]))
        return value
    return value


def _validate(settings: Settings) -> Settings:
    try:
        settings.proxies  # noqa: B018 - parse for its errors
    except ValueError as exc:
        name = "forwarded_header" if "forwarded header" in str(exc) else "trusted_proxies"
        raise ConfigError(f"seclog setting {name}: {exc}") from None
    problem = policy_errors(settings.field_policies, bool(settings.pseudonymize_key))
    if problem is not None:
        raise ConfigError(f"seclog setting {problem}")
    for name in ("pseudonymize_key", "integrity_key"):
        secret = getattr(settings, name)
        if secret is not None and len(secret) < 16:
            raise ConfigError(
                f"seclog setting {name} is too short: expected a random secret of at least "
                "16 characters (e.g. the output of `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`)"
            )
    if settings.detector_ipv6_prefix > 128:
        raise _fail("detector_ipv6_prefix", settings.detector_ipv6_prefix, "an integer 0-128")
    if settings.detector_state == "redis" and not settings.redis_url:
        raise ConfigError("seclog setting detector_state='redis' needs redis_url")
    if settings.max_value_length < 16:
        raise _fail("max_value_length", settings.max_value_length, "an integer >= 16")
    return settings


def _normalize_key(key: str) -> str:
    lowered = key.lower()
    return lowered[len("seclog_") :] if lowered.startswith("seclog_") else lowered


def _spelled_like(raw_key: str, key: str) -> str:
    """A known key written the way the unknown one was (SECLOG_X, seclog_x or x)."""
    prefix = raw_key[:7] if raw_key.lower().startswith("seclog_") else ""
    return (prefix + key).upper() if raw_key.isupper() else prefix + key


def _collect(source: Mapping[str, Any], origin: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw_key, value in source.items():
        if not isinstance(raw_key, str):
            raise ConfigError(f"seclog setting names must be strings, got {type(raw_key).__name__}")
        key = _normalize_key(raw_key)
        if key not in _FIELDS:
            # The value is never shown: a misspelt integrity_key still holds a secret.
            guess = closest(key, _FIELDS)
            hint = f" (did you mean {_spelled_like(raw_key, guess)!r}?)" if guess else ""
            raise ConfigError(
                f"unknown seclog setting {raw_key[:64]!r} in {origin}{hint}; known settings: "
                + ", ".join(sorted(_FIELDS))
            )
        values[key] = _coerce(key, value)
    return values


def load_settings(
    kwargs: Mapping[str, Any] | None = None,
    framework: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the three sources, highest precedence first in the signature."""
    env = os.environ if environ is None else environ
    env_values = {
        key: value
        for key, value in env.items()
        if key.startswith("SECLOG_") and _normalize_key(key) not in _OBJECT_SETTINGS
    }
    merged: dict[str, Any] = {}
    merged.update(_collect(env_values, "the environment"))
    merged.update(_collect(framework or {}, "the framework settings"))
    merged.update(_collect(kwargs or {}, "keyword arguments"))
    return _validate(replace(Settings(), **merged))
