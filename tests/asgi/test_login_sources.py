"""``seclog check --asgi`` says plainly whether an app's logins are logged at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seclog_asgi import login_source_report
from seclog_asgi._sources import NO_LOGIN_SOURCE
from tests.asgi import check_apps

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        (check_apps.oauth_form, "login source: POST /token (username/password form"),
        (check_apps.manual, "login source: POST /sso/callback (calls seclog's login API)"),
        (check_apps.configured, "login source: POST /api/session (login_routes setting)"),
    ],
    ids=["oauth-form", "manual-call", "configured"],
)
def test_each_kind_of_login_source_is_named(app: object, expected: str) -> None:
    """A detected form, a route calling the login API and a configured route are each listed."""
    [(level, message)] = login_source_report(app)
    assert level == "ok"
    assert message.startswith(expected)


def test_check_warns_when_no_login_is_ever_logged() -> None:
    """The CLI prints one WARNING line for an app with no login source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    result = subprocess.run(
        [sys.executable, "-m", "seclog_cli", "check", "--asgi", "tests.asgi.check_apps:bare"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"WARNING  logins     {NO_LOGIN_SOURCE}" in result.stdout, result.stdout + result.stderr
