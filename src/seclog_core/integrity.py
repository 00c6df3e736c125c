"""Integrity: a per-process stream id, a sequence number and an HMAC chain.

Every event carries ``seclog.stream_id`` (random per process, renewed in a
forked child) and ``seclog.sequence`` (1, 2, 3, ... without gaps). With a key
configured, ``seclog.mac`` chains an HMAC-SHA256 over the previous record's MAC
and a canonical encoding of this record, so a deleted, reordered or edited
record is detectable downstream (``seclog verify``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import weakref
from collections.abc import Mapping

from .events import AttributeValue

__all__ = ["INTEGRITY_PREFIX", "Sequencer", "canonical_bytes"]

INTEGRITY_PREFIX = "seclog."


def _canonical_value(value: object) -> object:
    # OTLP JSON turns ints into strings and bools into JSON bools; encode every
    # scalar as text so the MAC survives a round trip through any exporter.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return [_canonical_value(item) for item in value]
    return str(value)


def canonical_bytes(
    event_name: str, timestamp_ns: int, body: str, attributes: Mapping[str, object]
) -> bytes:
    """The bytes the MAC covers: name, time, body and every non-MAC attribute."""
    covered = {
        key: _canonical_value(value)
        for key, value in attributes.items()
        if key not in ("seclog.mac", "seclog.key_id")
    }
    document = [event_name, str(timestamp_ns), body, sorted(covered.items())]
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode()


class Sequencer:
    """Stamps events in emission order; call :meth:`stamp` under the emit lock."""

    def __init__(self, key: bytes | None = None, key_id: str = "k1") -> None:
        self._key = key
        self._key_id = key_id
        self._lock = threading.Lock()
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        self.stream_id = secrets.token_hex(8)
        self._sequence = 0
        self._previous_mac = b""

    def stamp(
        self,
        event_name: str,
        timestamp_ns: int,
        body: str,
        attributes: Mapping[str, AttributeValue],
    ) -> dict[str, AttributeValue]:
        """The integrity attributes for the next record."""
        with self._lock:
            self._sequence += 1
            stamped: dict[str, AttributeValue] = {
                "seclog.stream_id": self.stream_id,
                "seclog.sequence": self._sequence,
            }
            if self._key is not None:
                payload = canonical_bytes(event_name, timestamp_ns, body, {**attributes, **stamped})
                mac = hmac.new(self._key, self._previous_mac + payload, hashlib.sha256).digest()
                self._previous_mac = mac
                stamped["seclog.mac"] = mac.hex()
                stamped["seclog.key_id"] = self._key_id
            return stamped


_live: weakref.WeakSet[Sequencer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked worker is a new stream: sharing the parent's id would interleave
    # two sequences under one name and look like tampering.
    for sequencer in list(_live):
        sequencer._lock = threading.Lock()
        sequencer._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
