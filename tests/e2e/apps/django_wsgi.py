"""The WSGI entry point gunicorn loads, as in a generated Django project."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.e2e.apps.django_settings")
application = get_wsgi_application()
