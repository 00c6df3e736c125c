"""A production-shaped Django settings module with seclog wired in correctly."""

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["example.com"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "seclog_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "seclog_django.middleware.SecurityLoggingMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "tests.cli.apps.urls"
USE_TZ = True
SECLOG = {
    "trusted_proxies": ["10.0.0.0/8"],
    "integrity_key": "0123456789abcdef0123456789abcdef",
    "redact_keys": ["mothers_maiden_name"],
}
