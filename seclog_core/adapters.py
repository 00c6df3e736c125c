"""The one interface a framework adapter uses: everything else of the core is private.

An adapter (seclog_django, seclog_flask, seclog_asgi, or a fourth one for Litestar,
Sanic, Pyramid or aiohttp) imports its framework, this module and the public API
(``seclog_core``), never another adapter and nothing private of the core. Writing one:

1. At start-up (app construction, ``init_app``, ``AppConfig.ready``), build the app's
   pipeline with :func:`build_pipeline` from the framework's settings mapping. A bad
   setting raises :class:`~seclog_core.ConfigError`: let it stop the app.
2. At request start, call :func:`start_request` with the socket peer, the headers the
   core asks for and the method/path; it returns a :class:`RequestContext`. Bind it with
   :func:`bind_request_context` (and keep the token) so that events emitted anywhere in
   the request are enriched with it. A request with no event needs none of those facts
   but the user agent (the detectors read it at the end): an adapter may bind a context
   holding only that, the pipeline and a ``refresh`` that calls :func:`describe_request`
   on first read, as long as a request carrying a forwarding header is described at its
   start (an untrusted header is reported even when nothing else happens). A framework
   that tracks the running request itself (Flask) can spare the bind: keep the context
   where the framework's request holds it and :func:`add_context_finder` once.
3. When the framework knows the route template or the user, set ``ctx.route`` /
   ``ctx.user_id`` / ``ctx.user_name`` (or a loader the context calls lazily).
4. On an unhandled exception call :func:`report_exception`; when the response status is
   known call :func:`finish_request` (it maps 401/403/429/5xx to events unless an event
   already explained the status). Then :func:`reset_request_context` with the token.
5. Translate the framework's own security facts (auth signals, CSRF failures, ...) into
   the public API (``seclog_core.login_failed(...)``, ``seclog_core.emit(...)``).
   At start-up, also call :func:`attach_server_log_scrubbing` with the pipeline (and
   any logger only the framework knows) so its crash tracebacks are scrubbed too.
6. Wrap every piece of the adapter's own code that runs inside the host's request or
   signal handlers in ``with guarded("<adapter>.<where>"):`` so a failure inside seclog
   is counted (:func:`report_failure`) and never reaches the app.
"""

from __future__ import annotations

from . import export
from ._internal import guarded, logger, report_failure
from .context import (
    RequestContext,
    add_context_finder,
    bind_request_context,
    current_request_context,
    reset_request_context,
)
from .http import (
    STATUS_EVENTS,
    describe_request,
    finish_request,
    report_exception,
    start_request,
)
from .log_scrubbing import attach_server_log_scrubbing
from .pipeline import Pipeline, get_pipeline, new_pipeline

__all__ = [
    "STATUS_EVENTS",
    "Pipeline",
    "RequestContext",
    "add_context_finder",
    "attach_server_log_scrubbing",
    "bind_request_context",
    "build_pipeline",
    "current_request_context",
    "default_pipeline",
    "describe_request",
    "finish_request",
    "flush",
    "guarded",
    "logger",
    "report_exception",
    "report_failure",
    "reset_request_context",
    "start_request",
]

# One obvious constructor: a complete pipeline (detectors, flood control) from settings.
build_pipeline = new_pipeline
# The process default pipeline (``seclog_core.configure``), for adapters with no app object.
default_pipeline = get_pipeline


def flush(timeout_millis: int = 30_000) -> bool:
    """Emit what flood control holds back and flush every provider (server shutdown)."""
    return export.force_flush(timeout_millis)
