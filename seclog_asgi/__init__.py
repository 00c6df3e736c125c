"""seclog for any ASGI application: Starlette, FastAPI, Quart, Litestar, Django's ASGI handler.

One pure ASGI middleware reports what a response says about security (401, 403,
429, 5xx, an escaping exception, a refused or policy-closed WebSocket), reports
logins on login routes it detects or is told about, and enriches every event
emitted during the request::

    from seclog_asgi import SecurityLoggingMiddleware

    app = SecurityLoggingMiddleware(app)             # any ASGI app
    app.add_middleware(SecurityLoggingMiddleware)    # Starlette / FastAPI

On lifespan shutdown it flushes pending events, which ``atexit`` would not do
under uvicorn's SIGTERM handling. :func:`login_sources` lists where an app's
logins would be reported from (``seclog check --asgi`` prints it).
"""

from __future__ import annotations

from ._login import LoginRoute
from ._sources import login_source_report, login_sources
from .middleware import SecurityLoggingMiddleware

__all__ = ["LoginRoute", "SecurityLoggingMiddleware", "login_source_report", "login_sources"]
