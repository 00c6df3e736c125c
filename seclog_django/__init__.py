"""seclog for Django: every security fact Django knows, emitted automatically.

Add the app and the middleware; settings go in a ``SECLOG`` dict::

    INSTALLED_APPS += ["seclog_django"]
    MIDDLEWARE += ["seclog_django.middleware.SecurityLoggingMiddleware"]
    SECLOG = {"trusted_proxies": ["10.0.0.0/8"]}

Logins, logouts and failed logins (sync and async), password and privilege
changes, account lifecycle, admin actions, CSRF failures, Django's suspicious
operations, 401/403/429/5xx responses and unhandled exceptions become
OpenTelemetry security events; django-axes lockouts, Django REST framework
authentication failures and django-allauth's account, MFA and social flows
too, when those are installed. A bad ``SECLOG`` stops the app at start-up
(``ImproperlyConfigured``).
"""

from __future__ import annotations

from seclog_core import __version__

__all__ = ["__version__"]
