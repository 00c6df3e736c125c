"""A site without django.contrib.auth, contenttypes or admin still starts and reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SETTINGS = """
SECRET_KEY = "minimal-site-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "minimal_urls"
INSTALLED_APPS = ["seclog_django"]
MIDDLEWARE = ["seclog_django.middleware.SecurityLoggingMiddleware"]
DATABASES = {}
USE_TZ = True
"""
URLS = """
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.http import HttpResponse
from django.urls import path


def denied(request):
    raise PermissionDenied


def sneaky(request):
    raise SuspiciousFileOperation("path outside the base directory")


def ok(request):
    return HttpResponse("ok")


urlpatterns = [path("denied/", denied), path("sneaky/", sneaky), path("", ok)]
"""
SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from seclog_core import failure_counts
from seclog_core.testing import capture_security_events

call_command("check", fail_level="WARNING")
with capture_security_events() as events:
    client = Client()
    ok = client.get("/").status_code
    denied = client.get("/denied/").status_code
    sneaky = client.get("/sneaky/").status_code
print(json.dumps({"statuses": [ok, denied, sneaky], "events": events.types,
                  "failures": failure_counts()}))
"""


def test_site_without_auth_starts_and_reports(tmp_path: Path) -> None:
    """INSTALLED_APPS = ["seclog_django"] alone: system checks pass, requests are served, and
    403s and suspicious operations are reported (the auth receivers are simply not connected)."""
    (tmp_path / "minimal_settings.py").write_text(SETTINGS)
    (tmp_path / "minimal_urls.py").write_text(URLS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="minimal_settings",
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
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 403, 400]
    assert "authz_fail" in result["events"]
    assert "malicious_extraneous" in result["events"]
    assert result["failures"] == {}
