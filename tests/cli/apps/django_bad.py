"""Django settings that defeat security logging: DEBUG on, middleware misordered, no app."""

import logging

SECRET_KEY = "test-only-not-a-secret"
DEBUG = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
MIDDLEWARE = [
    "seclog_django.middleware.SecurityLoggingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "tests.cli.apps.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": logging.ERROR}}
