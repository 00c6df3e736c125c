"""Capture security events in your own tests.

``with capture_security_events() as events:`` collects every event emitted in
the block, from any app's pipeline, as it left seclog (scrubbed). With pytest,
the ``security_events`` fixture does the same for one test; it is registered
automatically when seclog is installed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, SupportsIndex, overload

if TYPE_CHECKING:  # the plugin loads in every pytest run: OpenTelemetry only when used
    from .events import SecurityEvent
    from .pipeline import Pipeline

__all__ = ["CapturedEvents", "capture_security_events", "security_events"]


class CapturedEvents(list["SecurityEvent"]):
    """The captured events, with helpers to find what a test asserts on."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def _add(self, event: SecurityEvent, _pipeline: Pipeline) -> None:
        with self._lock:
            self.append(event)

    def _settle(self) -> None:
        # Events are handled, and detectors alert, on seclog's threads: reading waits
        # (bounded) until the events emitted so far and their alerts are in, as a test
        # asserting them expects.
        from .pipeline import settle

        settle()

    def __len__(self) -> int:
        self._settle()
        return super().__len__()

    def __iter__(self) -> Iterator[SecurityEvent]:
        self._settle()
        return super().__iter__()

    @overload
    def __getitem__(self, index: SupportsIndex) -> SecurityEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[SecurityEvent]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> SecurityEvent | list[SecurityEvent]:
        self._settle()
        return super().__getitem__(index)

    def __contains__(self, item: object) -> bool:
        self._settle()
        return super().__contains__(item)

    def __eq__(self, other: object) -> bool:
        self._settle()
        return super().__eq__(other)

    __hash__ = None  # a list: unhashable, as before

    def __repr__(self) -> str:
        self._settle()
        return super().__repr__()

    @property
    def types(self) -> list[str]:
        """The event types in emission order."""
        return [event.type.name for event in self]

    def of_type(self, event_type: str) -> list[SecurityEvent]:
        """Events of one type (``authn_login_fail`` or ``security.authn_login_fail``)."""
        name = event_type.removeprefix("security.")
        return [event for event in self if event.type.name == name]

    def one(self, event_type: str) -> SecurityEvent:
        """The single event of a type; AssertionError if there are none or several."""
        found = self.of_type(event_type)
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one {event_type} event, got {len(found)}: {self.types}"
            )
        return found[0]


@contextmanager
def capture_security_events() -> Iterator[CapturedEvents]:
    """Collect the security events emitted inside the block."""
    from .pipeline import add_global_observer, remove_global_observer

    captured = CapturedEvents()
    add_global_observer(captured._add)
    try:
        yield captured
        captured._settle()  # alerts of the block's events are still captured
    finally:
        remove_global_observer(captured._add)


def _security_events() -> Iterator[CapturedEvents]:
    """The security events emitted during one test."""
    with capture_security_events() as captured:
        yield captured


try:  # pytest is optional: the fixture exists only where pytest does
    import pytest
except ImportError:  # pragma: no cover
    security_events = _security_events
else:
    security_events = pytest.fixture(name="security_events")(_security_events)
