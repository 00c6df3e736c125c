"""seclog's settings for a Django site, read from ``settings.SECLOG`` (and ``SECLOG_*``).

The ``SECLOG`` dict (keys are seclog setting names, any case, with or without
the ``SECLOG_`` prefix) and top-level ``SECLOG_*`` Django settings build the
site's pipeline once; nothing is written into ``django.conf.settings``. A
changed setting (``override_settings`` in tests) rebuilds it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from seclog_core import ConfigError, adapters
from seclog_core.adapters import (
    Pipeline,
    attach_server_log_scrubbing,
    default_pipeline,
    guarded,
    logger,
)

__all__ = ["build_pipeline", "framework_settings", "get_pipeline", "reset_pipeline", "start"]

_lock = threading.Lock()
_pipeline: Pipeline | None = None


def framework_settings() -> dict[str, Any]:
    """Top-level ``SECLOG_*`` Django settings, with the ``SECLOG`` dict over them."""
    values: dict[str, Any] = {}
    for name in dir(django_settings):
        if name.startswith("SECLOG_"):
            values[name] = getattr(django_settings, name)
    configured = getattr(django_settings, "SECLOG", None) or {}
    if not isinstance(configured, Mapping):
        raise ConfigError(
            f"settings.SECLOG must be a dict of seclog settings, not {type(configured).__name__}"
        )
    values.update(configured)
    return values


def build_pipeline() -> Pipeline:
    """A validated pipeline from Django's settings; raises ConfigError naming the bad key."""
    return adapters.build_pipeline(framework=framework_settings())


def start() -> Pipeline:
    """Build the site's pipeline while the app loads (``AppConfig.ready``).

    Every server loads Django through ``django.setup()`` (``manage.py``,
    ``get_wsgi_application()``, ``get_asgi_application()``), so a bad setting
    stops gunicorn, uWSGI, daphne and uvicorn at start-up, and the providers
    are built here rather than at the first event on an event loop.
    """
    global _pipeline
    try:
        pipeline = build_pipeline()
    except ConfigError as exc:
        # ConfigError names the key, the expected form and close known keys, never a secret.
        # from None: the chained ConfigError would print its unfiltered text too.
        raise ImproperlyConfigured(f"seclog: {_without_secrets(str(exc))}") from None
    with guarded("django.start.providers"):
        # The OpenTelemetry providers now, on the loading thread, never on an event loop.
        pipeline.emitter  # noqa: B018 - built for its side effect
    with guarded("django.start.server_logs"):  # django.request & co. print crashes scrubbed
        attach_server_log_scrubbing(pipeline)
    with _lock:
        _pipeline = pipeline
    return pipeline


_SECRET_SETTINGS = ("integrity_key", "pseudonymize_key", "redis_url")


def _without_secrets(message: str) -> str:
    # Belt and braces over ConfigError's own care: a secret given in the wrong form is named only.
    try:
        values = framework_settings()
    except ConfigError:
        return message
    for key, value in values.items():
        name = key.lower().removeprefix("seclog_")
        if name in _SECRET_SETTINGS and value is not None:
            for shown in {repr(value), str(value)}:
                if len(shown) >= 4:
                    message = message.replace(shown, "<hidden>")
    return message


def get_pipeline() -> Pipeline:
    """The site's pipeline, built on first use.

    ``start()`` built it when the app loaded; a rebuild after a changed setting
    (``override_settings``) that fails is reported once through the ``seclog``
    logger and by the ``seclog.E001`` check, and events use the process default
    pipeline rather than break a running site.
    """
    global _pipeline
    pipeline = _pipeline
    if pipeline is None:
        with _lock:
            if _pipeline is None:
                try:
                    _pipeline = build_pipeline()
                except ConfigError as exc:
                    logger.error("seclog: invalid Django settings, using defaults: %s", exc)
                    _pipeline = default_pipeline()
            pipeline = _pipeline
    return pipeline


def reset_pipeline() -> None:
    """Forget the built pipeline; the next event rebuilds it from the settings."""
    global _pipeline
    with _lock:
        _pipeline = None


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting == "SECLOG" or setting.startswith("SECLOG_"):
        reset_pipeline()
