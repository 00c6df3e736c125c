"""One way out for every Django fact: the request's pipeline, else the site's."""

from __future__ import annotations

from collections.abc import Mapping

from seclog_core import RequestContext, current_request_context
from seclog_core.adapters import Pipeline, report_failure

from .settings import get_pipeline

__all__ = ["emit"]


def emit(
    event_type: str,
    attributes: Mapping[str, object] | None = None,
    *,
    context: RequestContext | None = None,
    exception: BaseException | None = None,
) -> None:
    """Emit through the pipeline bound to the request (or the site's); never raises."""
    try:
        # The bound context refreshes itself (user, route) when the event reads it.
        ctx = context if context is not None else current_request_context()
        bound = getattr(ctx, "pipeline", None)
        pipeline = bound if isinstance(bound, Pipeline) else get_pipeline()
        pipeline.emit(event_type, attributes, exception=exception, context=ctx)
    except Exception as exc:
        report_failure("django.emit", exc)
