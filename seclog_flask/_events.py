"""Emitting from framework signals: the right app's pipeline, the request's context, the user.

Signal handlers run for every app in the process; this module finds the
sender's seclog state, describes the user a signal names, and never raises
into the app.
"""

from __future__ import annotations

from collections.abc import Mapping

from seclog_core.adapters import RequestContext, current_request_context, guarded

from ._state import SecLogState, state_of

__all__ = ["describe_user", "emit_for_app", "request_context_for", "set_user"]


def describe_user(user: object, name_attributes: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(id, name) of an authenticated user object; (None, None) for anonymous or none.

    Each fact is read on its own: an attribute that raises (a detached ORM row, a
    property with a bug) leaves that fact out, never fails the app's login.
    """
    if user is None:
        return None, None
    authenticated: object = True
    with guarded("flask.user.is_authenticated"):
        authenticated = getattr(user, "is_authenticated", True)
    if authenticated is False:
        return None, None
    user_id: str | None = None
    with guarded("flask.user.id"):
        # The primary key first: Flask-Security's get_id() is fs_uniquifier, a session identity.
        raw_id = getattr(user, "id", None)
        if raw_id is None:
            get_id = getattr(user, "get_id", None)
            raw_id = get_id() if callable(get_id) else None
        user_id = None if raw_id is None else str(raw_id)
    for attribute in name_attributes:
        value: object = None
        with guarded("flask.user.name"):
            value = getattr(user, attribute, None)
        if isinstance(value, str) and value:
            return user_id, value
    return user_id, None


def set_user(ctx: RequestContext, user: object, state: SecLogState) -> None:
    """Make ``user`` the request's user (or clear it when the user is anonymous)."""
    ctx.user_id, ctx.user_name = describe_user(user, state.user_name_attributes)


def request_context_for(state: SecLogState) -> RequestContext | None:
    """The bound request context if it belongs to this app's pipeline."""
    ctx = current_request_context()
    return ctx if ctx is not None and ctx.pipeline is state.pipeline else None


def emit_for_app(
    app: object,
    event_type: str,
    attributes: Mapping[str, object] | None = None,
    *,
    user: object = None,
    target: bool = False,
    once: bool = False,
) -> None:
    """Emit through ``app``'s pipeline; ``once`` skips a type this request already emitted.

    ``user`` is the actor, or with ``target=True`` the account acted upon.
    """
    with guarded("flask.emit"):
        state = state_of(app)
        if state is None:
            return
        ctx = request_context_for(state)
        if once and ctx is not None and event_type in ctx.emitted:
            return
        fields = dict(attributes or {})
        if user is not None:
            user_id, user_name = describe_user(user, state.user_name_attributes)
            prefix = "user.target" if target else "user"
            if user_id is not None:
                fields[f"{prefix}.id"] = user_id
            if user_name is not None:
                fields[f"{prefix}.name"] = user_name
        state.pipeline.emit(event_type, fields, context=ctx)
