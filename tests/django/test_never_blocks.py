"""Under ASGI, seclog's Django adapter never blocks the event loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from blockbuster import BlockBuster
from django.contrib.auth.models import User
from django.test import AsyncClient, override_settings

from seclog_core import failure_counts
from seclog_core.testing import CapturedEvents

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def detector() -> Iterator[None]:
    """BlockBuster (the detector Starlette's suite uses), watching seclog's modules."""
    buster = BlockBuster(["seclog_core", "seclog_django"])
    buster.activate()
    try:
        yield
    finally:
        buster.deactivate()


# Host-shared detector state opens a SQLite file: the detectors' own start-up question.
@override_settings(SECLOG={"detector_state": "process"})
def test_async_views_never_block_the_loop(events: CapturedEvents, detector: None) -> None:
    """Async logins, a failed login, a denial, a crash and a logout through Django's async
    path: every event is reported and no blocking call of seclog's runs on the loop."""
    User.objects.create_user("bob", password=PASSWORD)
    before = failure_counts()

    async def scenario() -> list[int]:
        client = AsyncClient(raise_request_exception=False)
        answers = [
            await client.post("/async/login/", {"username": "bob", "password": "wrong-zz9"}),
            await client.post("/async/login/", {"username": "bob", "password": PASSWORD}),
            await client.get("/async/denied/"),
            await client.get("/async/boom/"),
            await client.post("/async/logout/"),
        ]
        return [answer.status_code for answer in answers]

    # A BlockingError raised on the loop would turn one of these into a 500 or a failure.
    assert async_to_sync(scenario)() == [401, 200, 403, 500, 200]
    assert failure_counts() == before
    assert {
        "authn_login_fail",
        "authn_login_success",
        "authz_fail",
        "sys_error",
        "authn_logout",
    } <= set(events.types)
