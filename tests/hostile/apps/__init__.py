"""Three scenario apps (Django, Flask, FastAPI) that answer the same routes the same way.

Routes: ``/`` (200), ``POST /login`` (form username/password; 401 on a bad
password, 200 and a session otherwise), ``/logout``, ``/private`` (401 without a
session), ``/admin`` (403 for non-staff), ``/limited`` (429), ``POST /csrf-form``
(refused without a CSRF token where the framework has CSRF protection),
``/reset/<token>`` (401: a secret in the path, named by the route), ``/report``
(400, the app reports its request's header object to seclog) and
``/boom`` (an exception whose message carries a secret and the request's input).
"""

from __future__ import annotations

USERNAME = "alice"
PASSWORD = "correct-horse-battery-9"
# Planted in /boom's exception message: must never reach the collector.
BOOM_SECRET = "password=AppSecret-hostile-5511"


def boom_message(query: str, body: str) -> str:
    """The message /boom raises: a secret the app itself leaks, plus what the client sent."""
    return f"database refused {BOOM_SECRET}; request query={query} body={body}"
