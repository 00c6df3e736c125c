"""What every adapter shares: building the request context and reading responses.

Adapters translate their framework's request into :func:`start_request` and
its outcome into :func:`finish_request`; the mapping from HTTP status to event
(401 -> ``authn_fail``, 403 -> ``authz_fail``, 429 ->
``excess_rate_limit_exceeded``, 5xx -> ``sys_error``) lives here once, as does
the reporting of forwarding headers from untrusted peers.
"""

from __future__ import annotations

import time

from ._internal import logger, report_failure
from ._text import sanitize_text
from .client_ip import CANONICAL_IPV4, resolve_client_address
from .context import RequestContext
from .pipeline import Pipeline, get_pipeline

__all__ = [
    "STATUS_EVENTS",
    "describe_request",
    "finish_request",
    "report_exception",
    "start_request",
]

# HTTP status -> (event type, reason). 5xx is handled as a range.
STATUS_EVENTS: dict[int, tuple[str, str]] = {
    401: ("authn_fail", "unauthenticated"),
    403: ("authz_fail", "forbidden"),
    429: ("excess_rate_limit_exceeded", "rate_limited"),
}
# Events that already explain a status, so the status fallback stays quiet.
_EXPLAINS = {
    401: {"authn_fail", "authn_login_fail", "authn_login_fail_max", "authn_token_reuse"},
    403: {
        "authz_fail",
        "input_validation_fail",
        "authn_login_lock",
        "authn_login_fail",
        "authn_fail",
        "malicious_cors",
        "malicious_direct_reference",
    },
    429: {"excess_rate_limit_exceeded", "authn_login_lock"},
}
# A dotted-quad peer in canonical form needs no parsing (the common case).
_is_canonical = CANONICAL_IPV4.fullmatch
_SPOOF_WINDOW = 60.0
_SPOOF_KEYS = 10_000


def _short(value: str | None, limit: int = 256) -> str | None:
    if value is None:
        return None
    return value[:limit]


def start_request(
    *,
    method: str | None,
    path: str | None,
    peer: str | None,
    forwarded: str | None = None,
    x_forwarded_for: str | None = None,
    forwarding: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    scheme: str | None = None,
    server_address: str | None = None,
    route: str | None = None,
    pipeline: Pipeline | None = None,
) -> RequestContext:
    """A context for a new request, with the client address resolved safely.

    ``forwarded`` and ``x_forwarded_for`` are those headers' values; ``forwarding`` is
    the value of the header named by the ``forwarded_header`` setting when it is
    another one (``X-Real-IP``...). Never raises: a failure yields a context with
    what could be read.
    """
    # Positional (in RequestContext field order): this runs on every request, so it is lean.
    ctx = RequestContext(
        peer,
        peer,
        method,
        path,
        route,
        scheme,
        server_address,
        user_agent,
        request_id,
        None,
        None,
        None,
        set(),
        pipeline,
    )
    _settle(ctx, forwarded, x_forwarded_for, forwarding)
    return ctx


def describe_request(
    ctx: RequestContext,
    *,
    method: str | None,
    path: str | None,
    peer: str | None,
    forwarded: str | None = None,
    x_forwarded_for: str | None = None,
    forwarding: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    scheme: str | None = None,
    server_address: str | None = None,
    route: str | None = None,
) -> None:
    """Fill an existing context with the request's facts, as :func:`start_request` would.

    For an adapter that reads the facts lazily (from its context's ``refresh``, when an
    event first needs them): a request with a forwarding header must still be described
    at its start, so an untrusted header is reported even if nothing else happens.
    Never raises.
    """
    ctx.client_address = ctx.peer_address = peer
    ctx.method = method
    ctx.path = path
    ctx.route = route
    ctx.scheme = scheme
    ctx.server_address = server_address
    ctx.user_agent = user_agent
    ctx.request_id = request_id
    _settle(ctx, forwarded, x_forwarded_for, forwarding)


def _settle(
    ctx: RequestContext, forwarded: str | None, x_forwarded_for: str | None, forwarding: str | None
) -> None:
    """Bound the client's text, resolve the client address, report an untrusted header."""
    if (
        (ctx.path is not None and len(ctx.path) > 2048)
        or (ctx.user_agent is not None and len(ctx.user_agent) > 512)
        or (ctx.method is not None and len(ctx.method) > 32)
        or (ctx.request_id is not None and len(ctx.request_id) > 128)
        or (ctx.server_address is not None and len(ctx.server_address) > 256)
        or (ctx.route is not None and len(ctx.route) > 512)
        or (ctx.scheme is not None and len(ctx.scheme) > 16)
    ):
        _clip(ctx)
    peer = ctx.peer_address
    try:
        if (
            not forwarded
            and not x_forwarded_for
            and not forwarding
            and peer
            and _is_canonical(peer) is not None
        ):
            return  # the common case: nothing to resolve, nothing to report
        pipe = ctx.pipeline if isinstance(ctx.pipeline, Pipeline) else get_pipeline()
        proxies = pipe.trusted_proxies  # parsed once, when the pipeline was built
        headers: dict[str, str] = {}
        if forwarded:
            headers["forwarded"] = forwarded
        if x_forwarded_for:
            headers["x-forwarded-for"] = x_forwarded_for
        if forwarding and proxies.header not in headers:
            headers[proxies.header] = forwarding
        resolved = resolve_client_address(peer, headers, proxies)
        ctx.client_address = resolved.address
        ctx.peer_address = resolved.peer
        if resolved.forwarded_header_untrusted:
            _report_untrusted_forwarding(pipe, ctx, resolved.untrusted_header or "")
    except Exception as exc:
        report_failure("http.start_request", exc)


def _clip(ctx: RequestContext) -> None:
    """Bound what a client controls, so one request cannot bloat every event it causes."""
    ctx.method = _short(ctx.method, 32)
    ctx.path = _short(ctx.path, 2048)
    ctx.user_agent = _short(ctx.user_agent, 512)
    ctx.request_id = _short(ctx.request_id, 128)
    ctx.scheme = _short(ctx.scheme, 16)
    ctx.server_address = _short(ctx.server_address, 256)
    ctx.route = _short(ctx.route, 512)


def _report_untrusted_forwarding(pipe: Pipeline, ctx: RequestContext, header: str) -> None:
    """Say it once as a warning, and as a rate-limited event per peer."""
    state = pipe.forwarded_spoof
    now = time.monotonic()
    key = ctx.peer_address or "unix socket"
    with state.lock:
        seen = state.seen
        last = seen.get(key)
        if last is not None and now - last < _SPOOF_WINDOW:
            return
        seen[key] = now
        seen.move_to_end(key)
        while len(seen) > _SPOOF_KEYS:
            seen.popitem(last=False)
        warn = not state.warned and pipe.settings.forwarded_warning
        state.warned = True
    if warn:
        logger.warning(
            "seclog: a request carried a forwarding header (Forwarded/X-Forwarded-For) from "
            "%s, which is not a trusted proxy; the header was ignored. If the app runs "
            "behind a proxy, set SECLOG_TRUSTED_PROXIES (its addresses or networks, or "
            "'unix' for a unix socket) or SECLOG_TRUSTED_PROXY_COUNT, and "
            "SECLOG_FORWARDED_HEADER if the proxy sets another header than X-Forwarded-For.",
            sanitize_text(key, 64),
        )
    pipe.emit(
        "malicious_extraneous",
        {"security.reason": "untrusted_forwarded_header", "security.forwarded": header[:256]},
        context=ctx,
    )


def finish_request(
    ctx: RequestContext,
    status_code: int | None,
    *,
    exception: BaseException | None = None,
) -> None:
    """Emit the status-driven event for a finished request, unless one already explained it.

    ``exception`` is an exception that escaped the app (the server answers 500).
    Never raises.
    """
    try:
        pipe = ctx.pipeline
        if not isinstance(pipe, Pipeline):
            pipe = get_pipeline(ctx)
        if exception is not None:
            status_code = status_code if status_code and status_code >= 500 else 500
        if status_code is None:
            return
        ctx.status_code = status_code
        if status_code >= 500:
            if "sys_error" not in ctx.emitted:
                pipe.emit(
                    "sys_error",
                    {
                        "http.response.status_code": status_code,
                        "security.reason": "unhandled_exception" if exception else "server_error",
                    },
                    exception=exception,
                    context=ctx,
                )
        elif status_code >= 400:  # below, the common case: only the response hooks run
            mapped = STATUS_EVENTS.get(status_code)
            if mapped is not None and not (ctx.emitted & _EXPLAINS[status_code]):
                event_type, reason = mapped
                pipe.emit(
                    event_type,
                    {"http.response.status_code": status_code, "security.reason": reason},
                    context=ctx,
                )
        hooks = pipe.response_hooks
        if hooks:
            for hook in tuple(hooks):  # a hook may unregister itself
                hook(ctx, status_code, pipe)
    except Exception as exc:
        report_failure("http.finish_request", exc)
    finally:
        if ctx.trace_span is not None:
            ctx.end_span()  # seclog's one span of this request ends here


def report_exception(ctx: RequestContext, exception: BaseException) -> None:
    """An exception escaped the app: emit ``sys_error`` now (once per request)."""
    finish_request(ctx, 500, exception=exception)
