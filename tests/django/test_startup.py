"""A bad SECLOG stops the Django app while it loads, under every way Django is started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.otlp import free_port

SITE = Path(__file__).resolve().parents[2] / "example_projects" / "django_site"
BIN = Path(sys.executable).parent
SECRET = "s3cr3t-integrity-key-value-0123456789"

# name -> (the SECLOG dict, what the message must name)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "unknown key": (
        f'{{"integrity_kye": "{SECRET}", "trusted_proxies": ["10.0.0.0/8"]}}',
        ("integrity_kye", "did you mean", "integrity_key"),
    ),
    "invalid value": ('{"trusted_proxies": ["10.0.0.0/33"]}', ("trusted_proxies", "10.0.0.0/33")),
    "secret of the wrong type": (
        '{"integrity_key": 12345678901234567890123}',
        ("integrity_key",),
    ),
}
LOADERS = {
    "manage.py": [sys.executable, str(SITE / "manage.py"), "check"],
    "get_wsgi_application": [
        sys.executable,
        "-c",
        "from django.core.wsgi import get_wsgi_application; get_wsgi_application()",
    ],
    "get_asgi_application": [
        sys.executable,
        "-c",
        "from django.core.asgi import get_asgi_application; get_asgi_application()",
    ],
}


def _environment(tmp_path: Path, seclog: str) -> dict[str, str]:
    (tmp_path / "bad_settings.py").write_text(
        f"from django_site.settings import *  # noqa: F403\nSECLOG = {seclog}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="bad_settings",
        DJANGO_SITE_DB=str(tmp_path / "db.sqlite3"),
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(SITE), str(SITE.parents[1])]),
        SECLOG_LOCAL_SINK="none",
        SECLOG_STATE_DIR=str(tmp_path / "state"),
    )
    return env


def _assert_refused(proc: subprocess.CompletedProcess[str], named: tuple[str, ...]) -> None:
    assert proc.returncode != 0, proc.stderr[-2000:]
    assert "ImproperlyConfigured" in proc.stderr, proc.stderr[-2000:]
    for word in named:
        assert word in proc.stderr, (word, proc.stderr[-2000:])
    assert SECRET not in proc.stderr + proc.stdout
    assert "12345678901234567890123" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_bad_settings_stop_every_loader(case: str, loader: str, tmp_path: Path) -> None:
    """manage.py, get_wsgi_application() and get_asgi_application() raise ImproperlyConfigured
    naming the key and the expected form, never printing a secret."""
    seclog, named = CASES[case]
    proc = subprocess.run(
        LOADERS[loader],
        env=_environment(tmp_path, seclog),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    _assert_refused(proc, named)


def _servers(port: int) -> dict[str, list[str]]:
    return {
        "gunicorn": [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "django_site.wsgi:application",
        ],
        "uvicorn": [
            str(BIN / "uvicorn"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "django_site.asgi:application",
        ],
    }


@pytest.mark.parametrize("case", ["invalid value", "unknown key"])
@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_bad_settings_stop_the_server_at_start_up(case: str, server: str, tmp_path: Path) -> None:
    """gunicorn and uvicorn (Django ASGI) refuse to boot, with the message on stderr."""
    seclog, named = CASES[case]
    proc = subprocess.run(
        _servers(free_port())[server],
        env=_environment(tmp_path, seclog),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _assert_refused(proc, named)


def test_good_settings_build_the_pipeline_while_the_app_loads(tmp_path: Path) -> None:
    """The pipeline (and its providers) exist once django.setup() returns: no first-event build."""
    code = (
        "import django; django.setup()\n"
        "from seclog_django import settings\n"
        "assert settings._pipeline is not None\n"
        "assert settings._pipeline.settings.trusted_proxies == ('10.0.0.0/8',)\n"
        "assert settings._pipeline._emitter is not None  # providers too\n"
        "print('built')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(tmp_path, '{"trusted_proxies": ["10.0.0.0/8"]}'),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "built"
