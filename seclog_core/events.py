"""SecurityEvent: one immutable, already-scrubbed security event.

A SecurityEvent is what the pipeline hands to emission, to detectors and to
test captures. It is built once, after enrichment and redaction, so every
consumer sees the same safe values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .vocabulary import EventType

__all__ = ["AttributeValue", "SecurityEvent"]

AttributeValue = str | bool | int | float | list[str] | list[bool] | list[int] | list[float]


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """A security event as it leaves seclog: type, body, attributes, time."""

    type: EventType
    body: str
    attributes: Mapping[str, AttributeValue]
    timestamp_ns: int

    @property
    def name(self) -> str:
        """The wire name, ``security.<type>``."""
        return "security." + self.type.name

    @property
    def outcome(self) -> str:
        value = self.attributes.get("security.outcome", self.type.outcome)
        return str(value)

    @property
    def reason(self) -> str | None:
        value = self.attributes.get("security.reason")
        return None if value is None else str(value)

    @staticmethod
    def freeze(attributes: Mapping[str, AttributeValue]) -> Mapping[str, AttributeValue]:
        return MappingProxyType(dict(attributes))
