"""Alert callbacks: let the app respond (lock, CAPTCHA, page someone) when a detector fires.

Callbacks run on seclog's detector thread (``seclog-detect``), in event order,
after the alert event went out, not on the request that crossed the threshold;
an exception in one is counted and reported, never raised into the app. seclog
itself only monitors: nothing is blocked unless a callback decides to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .._internal import report_failure
from ..context import RequestContext
from ..events import AttributeValue, SecurityEvent

__all__ = ["Alert", "AlertCallback", "on_alert", "remove_alert_callback", "run_callbacks"]


@dataclass(frozen=True, slots=True)
class Alert:
    """What a detector found.

    ``key`` is the value the rule counts per (an account's normalized user
    name, a client address or its IPv6 prefix, ``"*"`` for the whole app) as
    it may be logged: pseudonymized when the pipeline pseudonymizes that field,
    empty when it omits it; ``key_field`` names it. ``identity`` holds the ``user.name`` and
    ``client.address`` of the triggering event as they were logged, and
    ``context`` the triggering request's facts as they were at the event (raw
    values: key a response on client + account from here, never on the account
    alone).
    """

    rule: str
    key: str
    key_field: str
    reason: str
    count: int
    window_seconds: float
    event: SecurityEvent | None
    identity: Mapping[str, AttributeValue] = field(default_factory=dict)
    context: RequestContext | None = None


AlertCallback = Callable[[Alert], object]

_lock = threading.Lock()
_callbacks: list[AlertCallback] = []


def on_alert(callback: AlertCallback) -> AlertCallback:
    """Call ``callback(alert)`` for every alert in this process; usable as a decorator.

    The callback runs on seclog's detector thread, not on the request thread or
    event loop: no request is bound there, so read the request's facts from
    ``alert.context``. Callbacks delay the alerts queued behind them, never the app.
    """
    if not callable(callback):
        raise TypeError("on_alert() takes a callable that accepts one Alert")
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)
    return callback


def remove_alert_callback(callback: AlertCallback) -> None:
    """Stop calling ``callback``; unknown callbacks are ignored."""
    with _lock:
        if callback in _callbacks:
            _callbacks.remove(callback)


def run_callbacks(alert: Alert) -> None:
    """Call every registered callback; one that raises is reported and the rest still run."""
    with _lock:
        callbacks = tuple(_callbacks)
    for callback in callbacks:
        try:
            callback(alert)
        except Exception as exc:
            report_failure("detect.on_alert", exc)
