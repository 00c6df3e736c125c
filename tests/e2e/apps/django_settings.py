"""A one-file Django site as a user wires it: seclog in INSTALLED_APPS and MIDDLEWARE."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

SECRET_KEY = "seclog-e2e-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = __name__
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "seclog_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "seclog_django.middleware.SecurityLoggingMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def forbidden(request: HttpRequest, case: str) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [path("", index), path("forbidden/<str:case>", forbidden)]
