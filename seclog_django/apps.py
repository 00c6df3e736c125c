"""The Django app: ``ready()`` builds the pipeline and connects the receivers."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["SeclogConfig"]


class SeclogConfig(AppConfig):
    """Add ``"seclog_django"`` to ``INSTALLED_APPS``."""

    name = "seclog_django"
    label = "seclog_django"
    verbose_name = "seclog"
    default = True

    def ready(self) -> None:
        from . import admin_log, checks, integrations, receivers, security_log, settings

        del checks  # imported for its @register side effect
        # First: a bad SECLOG stops the app here (ImproperlyConfigured), under every server,
        # and the providers exist before the first event (never built on an event loop).
        settings.start()
        receivers.connect()
        admin_log.connect()
        integrations.connect()
        security_log.install()
