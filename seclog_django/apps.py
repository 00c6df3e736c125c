"""The Django app: ``ready()`` connects the receivers and the security-log handler."""

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
        from . import checks, receivers, security_log

        del checks  # imported for its @register side effect
        receivers.connect()
        security_log.install()
