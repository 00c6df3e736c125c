"""CSRF rejections and Django's suspicious operations, reported with a machine reason."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.db import SessionStore
from django.test import AsyncClient, Client, override_settings

from seclog_core.testing import CapturedEvents
from tests.support.telemetry import Telemetry


def test_post_without_csrf_token_is_input_validation_fail(
    events: CapturedEvents, wire: Telemetry
) -> None:
    """A form POST with no CSRF cookie or token is rejected (403) and reported once as such."""
    response = Client(enforce_csrf_checks=True).post("/form/", {"title": "x"})
    assert response.status_code == 403
    event = events.one("input_validation_fail")
    assert event.attributes["security.reason"] == "csrf_cookie_not_set"
    assert event.attributes["http.response.status_code"] == 403
    assert event.attributes["http.route"] == "form/"
    assert event.attributes["security.outcome"] == "failure"
    assert "authz_fail" not in events.types
    assert wire.record("security.input_validation_fail").severity_text == "WARN"


def test_post_with_cookie_but_no_token_is_csrf_token_missing(events: CapturedEvents) -> None:
    """A CSRF cookie without the form token is csrf_token_missing."""
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")  # sets the csrftoken cookie
    assert client.post("/form/", {"title": "x"}).status_code == 403
    assert events.one("input_validation_fail").attributes["security.reason"] == "csrf_token_missing"


def test_wrong_csrf_token_is_csrf_token_incorrect(events: CapturedEvents) -> None:
    """A forged token is csrf_token_incorrect."""
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    forged = "x" * 64
    assert client.post("/form/", {"csrfmiddlewaretoken": forged}).status_code == 403
    event = events.one("input_validation_fail")
    assert event.attributes["security.reason"] == "csrf_token_incorrect"


def test_cross_origin_post_is_csrf_origin_mismatch(events: CapturedEvents) -> None:
    """A POST whose Origin is another site is csrf_origin_mismatch (under ASGI too)."""

    async def scenario() -> None:
        client = AsyncClient(enforce_csrf_checks=True)
        response = await client.post("/form/", {}, headers={"Origin": "https://evil.example"})
        assert response.status_code == 403

    async_to_sync(scenario)()
    event = events.one("input_validation_fail")
    assert event.attributes["security.reason"] == "csrf_origin_mismatch"


def test_https_post_without_referer_is_csrf_referer_mismatch(events: CapturedEvents) -> None:
    """An HTTPS POST with no Referer (and no Origin) is csrf_referer_mismatch."""
    client = Client(enforce_csrf_checks=True)
    client.get("/login/", secure=True)
    assert client.post("/form/", {}, secure=True).status_code == 403
    reasons = [e.attributes["security.reason"] for e in events.of_type("input_validation_fail")]
    assert reasons == ["csrf_referer_mismatch"]


@pytest.fixture
def silenced_disallowed_host() -> Iterator[None]:
    """The site silences DisallowedHost in its own logging (a common recipe)."""
    child = logging.getLogger("django.security.DisallowedHost")
    saved = child.propagate
    child.propagate = False
    try:
        yield
    finally:
        child.propagate = saved


def test_disallowed_host_is_malicious_extraneous(
    events: CapturedEvents, silenced_disallowed_host: None
) -> None:
    """A request for a host not in ALLOWED_HOSTS is malicious_extraneous/disallowed_host, once."""
    response = Client().get("/", HTTP_HOST="evil.example", REMOTE_ADDR="192.0.2.66")
    assert response.status_code == 400
    event = events.one("malicious_extraneous")
    assert event.attributes["security.reason"] == "disallowed_host"
    assert event.attributes["exception.type"] == "django.core.exceptions.DisallowedHost"
    assert event.attributes["client.address"] == "192.0.2.66"
    assert event.attributes["server.address"] == "evil.example"


def test_path_traversal_is_suspicious_file_operation(events: CapturedEvents) -> None:
    """A download path escaping its folder (SuspiciousFileOperation) is malicious_extraneous."""
    response = Client().get("/files/..%2F..%2Fetc%2Fpasswd")
    assert response.status_code == 400
    event = events.one("malicious_extraneous")
    assert event.attributes["security.reason"] == "suspicious_file_operation"
    assert event.attributes["http.route"] == "files/<path:name>"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_oversized_body_is_request_data_too_big(events: CapturedEvents) -> None:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is input_validation_fail/request_data_too_big."""
    response = Client().post("/upload/", {"blob": "x" * 500})
    assert response.status_code == 400
    event = events.one("input_validation_fail")
    assert event.attributes["security.reason"] == "request_data_too_big"


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5)
def test_too_many_fields_is_reported(events: CapturedEvents) -> None:
    """A POST with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS is too_many_fields."""
    response = Client().post("/upload/", {f"f{i}": "1" for i in range(20)})
    assert response.status_code == 400
    assert events.one("input_validation_fail").attributes["security.reason"] == "too_many_fields"


def test_tampered_session_is_suspicious_session(events: CapturedEvents) -> None:
    """Session data failing its signature is malicious_extraneous/suspicious_session."""
    store = SessionStore()
    store["x"] = 1
    store.save()
    from django.contrib.sessions.models import Session

    Session.objects.filter(session_key=store.session_key).update(session_data="tampered:data")
    client = Client()
    client.cookies["sessionid"] = store.session_key or ""
    assert client.get("/me/").status_code == 200
    event = events.one("malicious_extraneous")
    assert event.attributes["security.reason"] == "suspicious_session"
    assert event.attributes["http.route"] == "me/"


def test_the_sites_own_security_handlers_still_run(events: CapturedEvents) -> None:
    """seclog adds its handler next to the site's: the site's own handler still gets records."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    logger = logging.getLogger("django.security")
    logger.addHandler(handler)
    try:
        Client(enforce_csrf_checks=True).post("/form/", {})
    finally:
        logger.removeHandler(handler)
    assert [r.name for r in seen] == ["django.security.csrf"]
    assert events.types == ["input_validation_fail"]
