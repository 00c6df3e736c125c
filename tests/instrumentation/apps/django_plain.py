"""A Django site with no seclog line: settings, URLs, views and a server entry, in one module.

Served by ``python -m tests.instrumentation.apps.django_plain PORT`` (runserver, no reload).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

SECRET_KEY = "tests-only-not-a-secret-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
DATABASES: dict[str, Any] = {}
AUTHENTICATION_BACKENDS = [f"{__name__}.NobodyBackend"]
USE_TZ = True


class NobodyBackend:
    """Knows no user: every login fails without touching a database."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None


@csrf_exempt
def login(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    return HttpResponse("welcome" if user else "wrong credentials", status=200 if user else 401)


def admin(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("", home), path("login", login), path("admin", admin)]

if __name__ == "__main__":
    # opentelemetry-instrument reads the settings before this runs: the test sets it too.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.instrumentation.apps.django_plain")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage", "runserver", "--noreload", f"127.0.0.1:{sys.argv[1]}"])
