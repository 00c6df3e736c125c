"""Flood control: past ``flood_limit`` identical events per key per window, summarize.

Identical means same event type and same key (the client address, else the
user name). The first ``limit`` events of a window go out as usual; the rest
are counted exactly, with capped lists of the distinct values that matter
(user names tried, paths probed), and one ``security_events_summarized`` event
per key and window reports them. Alerts, detector outputs and rare event types
always pass. Suppressed events still reach the detectors.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .._internal import report_failure
from ..context import RequestContext, current_request_context
from ..events import SecurityEvent
from .keys import client_key, user_key
from .rules import OUTPUT_TYPES

__all__ = ["DISTINCT_CAP", "DISTINCT_FIELDS", "FloodControl"]

# Values listed in a summary, at most DISTINCT_CAP of each (the count stays exact).
DISTINCT_FIELDS = ("user.name", "client.address", "url.path", "http.route")
DISTINCT_CAP = 20
_KEY_FIELDS = ("client.address", "user.name")


@dataclass(slots=True)
class _Window:
    event_type: str
    key: str
    key_field: str
    start: float
    total: int = 0
    suppressed: int = 0
    truncated: bool = False
    values: dict[str, dict[str, None]] = field(default_factory=dict)

    def remember(self, event: SecurityEvent) -> None:
        for name in DISTINCT_FIELDS:
            if name == self.key_field:
                continue
            value = event.attributes.get(name)
            if not isinstance(value, str) or not value:
                continue
            seen = self.values.setdefault(name, {})
            if value in seen:
                continue
            if len(seen) >= DISTINCT_CAP:
                self.truncated = True
            else:
                seen[value] = None


class FloodControl:
    """A pipeline gate (returns False to suppress) that summarizes floods of identical events."""

    def __init__(
        self,
        pipeline: object,
        limit: int,
        window: float,
        *,
        max_keys: int,
        ipv6_prefix: int = 64,
        on_suppressed: Callable[[SecurityEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from ..pipeline import Pipeline, pre_policy_attributes

        assert isinstance(pipeline, Pipeline)
        self.pipeline = pipeline
        self._raw = pre_policy_attributes
        self.limit = limit
        self.window = window
        self.max_keys = max(1, max_keys)
        self.ipv6_prefix = ipv6_prefix
        self.on_suppressed = on_suppressed
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()
        self._flusher: threading.Thread | None = None
        self._wake = threading.Event()
        policies = pipeline.settings.field_policies
        self._passthrough = {
            f for f in _KEY_FIELDS if policies.get(f) not in ("pseudonymize", "omit")
        }
        self._exit_hook = False

    def __call__(self, event: SecurityEvent, _pipeline: object = None) -> bool:
        kind = event.type
        if kind.is_alert or kind.rare or kind.name in OUTPUT_TYPES:
            return True
        try:
            return self._gate(event)
        except Exception as exc:
            report_failure("detect.flood", exc)
            return True

    def _gate(self, event: SecurityEvent) -> bool:
        # Keyed like the detectors: on pre-policy values, IPv6 per prefix, names normalized.
        attrs = self._raw(event) or event.attributes
        key_field, key = "-", "*"
        client = client_key(attrs.get("client.address"), self.ipv6_prefix)
        user = None if client else user_key(attrs.get("user.name"))
        if client:
            key_field, key = "client.address", client
        elif user:
            key_field, key = "user.name", user
        slot = (event.type.name, key)
        now = self.clock()
        due: list[_Window] = []
        with self._lock:
            current = self._windows.get(slot)
            if current is not None and now - current.start >= self.window:
                del self._windows[slot]
                if current.suppressed:
                    due.append(current)
                current = None
            if current is None:
                current = self._windows[slot] = _Window(event.type.name, key, key_field, now)
                if len(self._windows) > self.max_keys:
                    _, evicted = self._windows.popitem(last=False)
                    if evicted.suppressed:
                        due.append(evicted)
            else:
                self._windows.move_to_end(slot)
            current.total += 1
            allowed = current.total <= self.limit
            if not allowed:
                current.suppressed += 1
                current.remember(event)
                self._ensure_flusher()
        for window in due:
            self._summarize(window)
        if not allowed:
            ctx = current_request_context()
            if ctx is not None:
                # The event was logged in summary form: the status fallback must not repeat it.
                ctx.emitted.add(event.type.name)
            if self.on_suppressed is not None:
                self.on_suppressed(event)
        return allowed

    def flush(self, *, everything: bool = False) -> int:
        """Summarize finished windows (every window with ``everything``); returns how many."""
        now = self.clock()
        with self._lock:
            done = [
                slot
                for slot, window in self._windows.items()
                if everything or now - window.start >= self.window
            ]
            due = [w for w in (self._windows.pop(slot) for slot in done) if w.suppressed]
        for window in due:
            self._summarize(window)
        return len(due)

    def pending(self) -> int:
        """Windows holding suppressed events not yet summarized."""
        with self._lock:
            return sum(1 for w in self._windows.values() if w.suppressed)

    def _summarize(self, window: _Window) -> None:
        attributes: dict[str, object] = {
            "security.summarized_event": window.event_type,
            "security.key_field": window.key_field,
            "security.count": window.suppressed,
            "security.total_count": window.total,
            "security.window_seconds": self.window,
            "security.reason": "flood_control",
        }
        for name, values in window.values.items():
            attributes[f"security.summary.{name}"] = list(values)
        if window.truncated:
            attributes["security.summary.truncated"] = True
        if window.key_field in _KEY_FIELDS:
            # The key as it may be logged: pseudonymized or left out per the field policies.
            shown = self.pipeline.redactor.redact_attributes({window.key_field: window.key})
            if window.key_field in shown:
                attributes["security.key"] = shown[window.key_field]
            if window.key_field in self._passthrough:
                attributes[window.key_field] = window.key
        else:
            attributes["security.key"] = window.key
        body = (
            f"Flood control held back {window.suppressed} of {window.total} "
            f"{window.event_type} events for one {window.key_field} within {self.window:g} s"
        )
        # A blank context: the summary describes the key, not whichever request is running.
        self.pipeline.emit(
            "security_events_summarized", attributes, body=body, context=RequestContext()
        )

    def _ensure_flusher(self) -> None:
        # Called under the lock. One daemon thread per gate, only while a flood is on.
        if self._flusher is not None and self._flusher.is_alive():
            return
        if not self._exit_hook:
            self._exit_hook = True
            ref = weakref.ref(self)

            def flush_at_exit() -> None:
                gate = ref()
                if gate is not None:
                    gate.flush(everything=True)

            atexit.register(flush_at_exit)
        self._flusher = threading.Thread(
            target=_flush_loop, args=(weakref.ref(self),), name="seclog-flood", daemon=True
        )
        self._flusher.start()


def _flush_loop(ref: weakref.ReferenceType[FloodControl]) -> None:
    while True:
        gate = ref()
        if gate is None:
            return
        interval = min(max(gate.window / 4, 0.01), 1.0)
        wake = gate._wake
        del gate
        wake.wait(interval)
        gate = ref()
        if gate is None:
            return
        try:
            gate.flush()
        except Exception as exc:
            report_failure("detect.flood_flush", exc)
        if not gate.pending():
            with gate._lock:
                if not any(w.suppressed for w in gate._windows.values()):
                    gate._flusher = None
                    return
        del gate
