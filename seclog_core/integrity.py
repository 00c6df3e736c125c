"""Integrity: a per-process stream id, a sequence number and an HMAC chain.

Every event carries ``seclog.stream_id`` (random per process, renewed in a
forked child) and ``seclog.sequence`` (1, 2, 3, ... without gaps). With a key
configured, ``seclog.mac`` chains an HMAC-SHA256 over the previous record's MAC
and a canonical encoding of this record, and ``seclog.key_id`` names the key,
so keys can rotate and a deleted, reordered or edited record is detectable
downstream (``seclog verify``, which takes a :class:`KeyRing`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import threading
import weakref
from collections.abc import Iterable, Mapping

from .events import AttributeValue

__all__ = [
    "INTEGRITY_PREFIX",
    "KeyRing",
    "Sequencer",
    "canonical_bytes",
    "compute_mac",
]

INTEGRITY_PREFIX = "seclog."
_UNCOVERED = ("seclog.mac", "seclog.key_id")


def _canonical_value(value: object) -> object:
    # Each scalar becomes [type tag, text]: OTLP JSON carries ints as strings and
    # doubles as numbers (or "NaN"), and the JSON-lines sink keeps Python types,
    # so text plus the AnyValue type is what survives every exporter unchanged
    # (and a value cannot change type, e.g. int 5 -> string "5", unnoticed).
    if isinstance(value, bool):
        return ["b", "true" if value else "false"]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        if math.isnan(value):
            return ["d", "nan"]
        if value == int(value) and not math.isinf(value) and abs(value) < 2**53:
            return ["d", str(int(value))]  # 3.0 and 3 print alike across encoders
        return ["d", repr(value)]
    if isinstance(value, list | tuple):
        return ["a", [_canonical_value(item) for item in value]]
    if isinstance(value, bytes):
        return ["y", value.hex()]
    return ["s", str(value)]


def canonical_bytes(
    event_name: str, timestamp_ns: int, body: str, attributes: Mapping[str, object]
) -> bytes:
    """The bytes the MAC covers: name, time, body and every attribute but the MAC and key id."""
    covered = sorted(
        (key, _canonical_value(value)) for key, value in attributes.items() if key not in _UNCOVERED
    )
    document = [event_name, str(timestamp_ns), body, covered]
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode()


def compute_mac(key: bytes, previous_mac: bytes, payload: bytes) -> bytes:
    """One link of the chain: HMAC-SHA256(key, previous MAC || canonical bytes)."""
    return hmac.new(key, previous_mac + payload, hashlib.sha256).digest()


class KeyRing:
    """Integrity keys by id: the verifier's view of every key that ever signed a stream.

    Text form (``--key-ring FILE``, one per line, ``#`` comments):
    ``k1=first-secret`` / ``k2=second-secret``. A bare ``secret`` line is key id ``k1``.
    """

    def __init__(self, keys: Mapping[str, bytes] | None = None) -> None:
        self._keys: dict[str, bytes] = dict(keys or {})

    @classmethod
    def parse(cls, entries: Iterable[str], default_id: str = "k1") -> KeyRing:
        keys: dict[str, bytes] = {}
        for raw in entries:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key_id, sep, secret = line.partition("=")
            if not sep:
                key_id, secret = default_id, line
            key_id, secret = key_id.strip(), secret.strip()
            if not key_id or len(secret) < 16:
                raise ValueError(
                    "a key ring entry must be key_id=secret with a secret of at least 16 characters"
                )
            keys[key_id] = secret.encode()
        return cls(keys)

    def add(self, key_id: str, key: bytes) -> None:
        self._keys[key_id] = key

    def get(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def ids(self) -> list[str]:
        return sorted(self._keys)


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

    @property
    def key_id(self) -> str | None:
        return self._key_id if self._key is not None else None

    def rotate_key(self, key: bytes, key_id: str) -> None:
        """Sign from the next record on with ``key``; the chain continues across the change."""
        if not key_id or (key_id == self._key_id and key != self._key):
            raise ValueError("a new integrity key needs a new key id")
        with self._lock:
            self._key, self._key_id = key, key_id

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
                mac = compute_mac(self._key, self._previous_mac, payload)
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
