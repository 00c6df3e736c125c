"""Per-app state: what seclog keeps in ``app.extensions["seclog"]`` and how to find it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context

from seclog_core.adapters import Pipeline, RequestContext

__all__ = ["EXTENSION_KEY", "SecLogState", "get_state", "state_of"]

EXTENSION_KEY = "seclog"

ResponseInspector = Callable[[int, RequestContext, "SecLogState"], None]
UserSource = Callable[[], object | None]


@dataclass
class SecLogState:
    """One app's pipeline and the parts its integrations plugged in."""

    pipeline: Pipeline
    request_id_header: str
    user_name_attributes: tuple[str, ...]
    integrations: tuple[str, ...] = ()
    # Look at a response's status before the status fallback (CSRF failures, rate limits),
    # while the request is active; called for a 4xx/5xx or a method other than GET/HEAD.
    response_inspectors: list[ResponseInspector] = field(default_factory=list)
    # Return the user the app has already loaded, without loading one.
    user_sources: list[UserSource] = field(default_factory=list)
    # The app itself, so per-response checks read its config without a context lookup.
    app: Any = field(default=None, repr=False, compare=False)
    # The environ key of a forwarding header other than Forwarded / X-Forwarded-For.
    forwarding_key: str | None = None
    # The wrapper around the app's WSGI callable (hooks.install), which makes contexts.
    wsgi_hooks: Any = field(default=None, repr=False, compare=False)


def state_of(app: Any) -> SecLogState | None:
    """The state of ``app`` if seclog runs on it (signal senders may be any app)."""
    extensions = getattr(app, "extensions", None)
    state = extensions.get(EXTENSION_KEY) if isinstance(extensions, dict) else None
    return state if isinstance(state, SecLogState) else None


def get_state(app: Flask | None = None) -> SecLogState:
    """seclog's state for ``app`` (default: the current app); RuntimeError if never initialized."""
    if app is None:
        if not has_app_context():
            raise RuntimeError(
                "seclog needs an app: pass one, or call this inside an app or request context"
            )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = state_of(app)
    if state is None:
        raise RuntimeError(
            f"seclog is not initialized on app {app.name!r}: call SecLog(app) or "
            "SecLog().init_app(app) first"
        )
    return state
