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
from django.core.signals import setting_changed
from django.dispatch import receiver

from seclog_core import ConfigError, adapters
from seclog_core.adapters import Pipeline, default_pipeline, logger

__all__ = ["framework_settings", "get_pipeline", "reset_pipeline"]

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


def get_pipeline() -> Pipeline:
    """The site's pipeline, built on first use.

    A settings error is reported once through the ``seclog`` logger (and by the
    ``seclog.E001`` system check); events then use the process default pipeline
    rather than break the site.
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
