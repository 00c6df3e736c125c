"""A site with its own user model (UUID keys): admin password changes work and are reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

MODELS = """
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class Member(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
"""
ADMIN = """
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Member

admin.site.register(Member, UserAdmin)
"""
SETTINGS = """
SECRET_KEY = "custom-user-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "custom_urls"
AUTH_USER_MODEL = "members.Member"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "members",
    "seclog_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "seclog_django.middleware.SecurityLoggingMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""
URLS = """
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
"""
SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("makemigrations", "members", verbosity=0)
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from django.test import Client
from seclog_core import failure_counts
from seclog_core.testing import capture_security_events

Member = get_user_model()
root = Member.objects.create_superuser("root", "root@example.com", "root-password-123")
bob = Member.objects.create_user("bob", "bob@example.com", "bob-password-123")
client = Client()
client.force_login(root)
new = "brand-new-password-456"
with capture_security_events() as events:
    response = client.post(
        f"/admin/members/member/{bob.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
print(json.dumps({
    "status": response.status_code,
    "events": [[e.type.name, dict(e.attributes)] for e in events],
    "bob": str(bob.pk),
    "root": str(root.pk),
    "failures": failure_counts(),
}, default=str))
"""


def test_admin_password_change_on_a_custom_user_model(tmp_path: Path) -> None:
    """Changing a member's password (UUID keys) in the admin answers 302 and is reported as
    authn_password_change and authz_admin naming the admin, with no internal failure."""
    app = tmp_path / "members"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    (app / "admin.py").write_text(ADMIN)
    (tmp_path / "custom_settings.py").write_text(SETTINGS)
    (tmp_path / "custom_urls.py").write_text(URLS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="custom_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]),
        SECLOG_LOCAL_SINK="none",
        SECLOG_STATE_DIR=str(tmp_path / "state"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == 302
    events = dict(result["events"])
    assert events["authn_password_change"]["user.target.name"] == "bob"
    assert events["authn_password_change"]["user.target.id"] == result["bob"]
    admin = events["authz_admin"]
    assert admin["security.resource"] == "members.member"
    assert admin["user.changes.id"] == result["root"]
    assert admin["user.changes.name"] == "root"
    assert result["failures"] == {}
    assert "brand-new-password-456" not in proc.stdout
