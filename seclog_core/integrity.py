"""Integrity: a per-process stream id, a sequence number and a MAC on every record.

Every event carries ``seclog.stream_id`` (16 hex digits, random per process,
renewed in a forked child) and ``seclog.sequence`` (1, 2, 3, ... without gaps).
With a key configured, ``seclog.mac`` is an HMAC-SHA256 over a canonical
encoding of everything a reader acts on (event name, timestamp, body, severity,
trace and span id, every attribute), ``seclog.mac_v`` names that encoding and
``seclog.key_id`` names the key, so keys can rotate and a deleted, inserted,
reordered or edited record is detectable downstream (``seclog verify``, which
takes a :class:`KeyRing`).

Version 2 (current) signs each record on its own: the stream id and sequence are
inside the MAC, so a gap, a repeat or an insertion shows in the numbering and
every record present is checked even when its neighbours are gone. Version 1
(seclog 0.1, no ``seclog.mac_v``) chained each MAC over the previous one and did
not cover severity, trace or span id; it still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .events import AttributeValue

__all__ = [
    "CHECKPOINT_CLOSING",
    "CHECKPOINT_EVENT",
    "CHECKPOINT_PERIODIC",
    "INTEGRITY_PREFIX",
    "MAC_VERSION",
    "STREAM_ID_PATTERN",
    "KeyRing",
    "Sequencer",
    "Signed",
    "canonical_bytes",
    "compute_mac",
    "key_bytes",
]

INTEGRITY_PREFIX = "seclog."
MAC_VERSION = 2
#: What :class:`Sequencer` writes as ``seclog.stream_id``; verify reports anything else.
STREAM_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
_UNCOVERED_V1 = ("seclog.mac", "seclog.key_id")
#: Checkpoint records (:mod:`seclog_core.checkpoints`): event name and the
#: ``security.reason`` of the periodic and the closing (flush, shutdown) kind.
CHECKPOINT_EVENT = "security.sys_checkpoint"
CHECKPOINT_PERIODIC = "checkpoint_periodic"
CHECKPOINT_CLOSING = "checkpoint_flush"


def key_bytes(secret: str | bytes) -> bytes:
    """A secret as signer and verifier both use it: surrounding whitespace (a trailing
    newline from a file or a secret store) is not part of the key."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return raw.strip()


def _canonical_value(value: object) -> object:
    # Each scalar becomes [type tag, text]: OTLP JSON carries ints as strings and
    # doubles as numbers (or "NaN"), and the JSON-lines sink keeps Python types,
    # so text plus the AnyValue type is what survives every exporter unchanged
    # (and a value cannot change type, e.g. int 5 -> string "5", unnoticed).
    kind = type(value)
    if kind is str:  # nearly every attribute: answered before the slower checks
        return ["s", value]
    if kind is int:
        return ["i", str(value)]
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", "true" if value else "false"]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        if math.isnan(value):
            return ["d", "nan"]
        if not math.isinf(value) and abs(value) < 2**53 and value == int(value):
            return ["d", str(int(value))]  # 3.0 and 3 print alike across encoders
        return ["d", repr(value)]
    if isinstance(value, list | tuple):
        return ["a", [_canonical_value(item) for item in value]]
    if isinstance(value, bytes):
        return ["y", value.hex()]
    if isinstance(value, Mapping):
        return ["m", sorted([str(k), _canonical_value(v)] for k, v in value.items())]
    return ["s", str(value)]


@dataclass(frozen=True)
class Signed:
    """The fields of one record that its MAC covers, as signer and verifier see them.

    ``trace_id`` and ``span_id`` are lower-case hex ("" when the record has none);
    ``severity_number`` is 0 and ``severity_text`` "" when unset.
    """

    event_name: str
    timestamp_ns: int
    body: object
    attributes: Mapping[str, object] = field(default_factory=dict)
    severity_number: int = 0
    severity_text: str = ""
    trace_id: str = ""
    span_id: str = ""


# One encoder for every record (json.dumps with options builds a new one per call).
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def canonical_bytes(fields: Signed, version: int = MAC_VERSION) -> bytes:
    """The bytes the MAC covers, in the given canonical form (1 or 2)."""
    if version == 1:
        body = fields.body if isinstance(fields.body, str) else str(fields.body or "")
        covered = sorted(
            (key, _canonical_value(value))
            for key, value in fields.attributes.items()
            if key not in _UNCOVERED_V1
        )
        document: list[object] = [fields.event_name, str(fields.timestamp_ns), body, covered]
    elif version == 2:
        covered = sorted(
            (key, _canonical_value(value))
            for key, value in fields.attributes.items()
            if key != "seclog.mac"
        )
        document = [
            "seclog/2",
            fields.event_name,
            str(fields.timestamp_ns),
            _canonical_value(fields.body),
            str(fields.severity_number),
            fields.severity_text,
            fields.trace_id,
            fields.span_id,
            covered,
        ]
    else:
        raise ValueError(f"unknown MAC version {version}")
    return _CANONICAL_JSON.encode(document).encode()


def compute_mac(key: bytes, previous_mac: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256(key, previous MAC || canonical bytes); version 2 passes b"" as previous."""
    return hmac.new(key, previous_mac + payload, hashlib.sha256).digest()


class KeyRing:
    """Integrity keys by id: the verifier's view of every key that ever signed a stream.

    Text form (``--key``, ``--key-ring FILE`` one per line, ``#`` comments):
    ``k1=first-secret``, or a bare ``secret``. Secrets and ids may contain ``=``
    (base64 secrets end in it), so an entry is read every way it can be split:
    ``a=b=c`` is key ``b=c`` for id ``a``, key ``c`` for id ``a=b``, and the
    whole entry as a key of any id. Trying a few of the operator's own
    candidates is safe: a forged MAC still needs one of them.
    """

    def __init__(self, keys: Mapping[str, bytes] | None = None) -> None:
        self._keys: dict[str, list[bytes]] = {k: [key_bytes(v)] for k, v in (keys or {}).items()}
        self._any: list[bytes] = []

    @classmethod
    def parse(cls, entries: Iterable[str]) -> KeyRing:
        """Read ring entries; raises ValueError when none holds a usable key."""
        ring = cls()
        for raw in entries:
            ring.add_entry(raw)
        if not ring:
            raise ValueError("no usable key: expected key_id=secret or a bare secret")
        return ring

    def add_entry(self, raw: str) -> None:
        """One ``id=secret`` or bare ``secret`` entry (blank lines and ``#`` comments skipped)."""
        line = raw.strip()
        if not line or line.startswith("#"):
            return
        self.add_unnamed(key_bytes(line))
        for index, char in enumerate(line):
            if char != "=":
                continue
            key_id, secret = line[:index].strip(), key_bytes(line[index + 1 :])
            if key_id and secret:
                self.add(key_id, secret)

    def add(self, key_id: str, key: bytes) -> None:
        found = self._keys.setdefault(key_id, [])
        if key not in found:
            found.append(key)

    def add_unnamed(self, key: bytes) -> None:
        if key and key not in self._any:
            self._any.append(key)

    def named(self, key_id: str) -> list[bytes]:
        """The keys given for exactly this id."""
        return list(self._keys.get(key_id, ()))

    def candidates(self, key_id: str) -> list[bytes]:
        """Every key worth trying for a record signed with ``key_id``."""
        return [*self.named(key_id), *(k for k in self._any if k not in self.named(key_id))]

    def get(self, key_id: str) -> bytes | None:
        named = self._keys.get(key_id)
        return named[0] if named else None

    def __bool__(self) -> bool:
        return any(self._keys.values()) or bool(self._any)

    def __len__(self) -> int:
        return len(self._keys)

    def ids(self) -> list[str]:
        return sorted(self._keys)


class Sequencer:
    """Stamps events in emission order; call :meth:`stamp` under the emit lock."""

    def __init__(self, key: bytes | None = None, key_id: str = "k1") -> None:
        self._key = self._usable(key) if key is not None else None
        self._key_id = key_id
        self._lock = threading.Lock()
        self._reset()
        _live.add(self)

    @staticmethod
    def _usable(key: bytes) -> bytes:
        usable = key_bytes(key)
        if not usable:
            raise ValueError("the integrity key is empty")
        return usable

    def _reset(self) -> None:
        self.stream_id = secrets.token_hex(8)
        self._sequence = 0

    @property
    def key_id(self) -> str | None:
        return self._key_id if self._key is not None else None

    @property
    def sequence(self) -> int:
        """The sequence number of the last record stamped (0 before the first)."""
        return self._sequence

    def rotate_key(self, key: bytes, key_id: str) -> None:
        """Sign from the next record on with ``key``; the stream continues across the change."""
        usable = self._usable(key)
        if not key_id or (key_id == self._key_id and usable != self._key):
            raise ValueError("a new integrity key needs a new key id")
        with self._lock:
            self._key, self._key_id = usable, key_id

    def stamp(
        self,
        event_name: str,
        timestamp_ns: int,
        body: str,
        attributes: Mapping[str, AttributeValue],
        *,
        severity_number: int = 0,
        severity_text: str = "",
        trace_id: int = 0,
        span_id: int = 0,
    ) -> dict[str, AttributeValue]:
        """The integrity attributes for the next record.

        Pass the severity and the trace and span id the record will carry: the MAC
        covers them (a downgraded alert or a record moved to another trace fails).
        """
        with self._lock:
            self._sequence += 1
            stamped: dict[str, AttributeValue] = {
                "seclog.stream_id": self.stream_id,
                "seclog.sequence": self._sequence,
            }
            if self._key is not None:
                stamped["seclog.mac_v"] = MAC_VERSION
                stamped["seclog.key_id"] = self._key_id
                signed = Signed(
                    event_name,
                    timestamp_ns,
                    body,
                    {**attributes, **stamped},
                    severity_number,
                    severity_text,
                    f"{trace_id:032x}" if trace_id else "",
                    f"{span_id:016x}" if span_id else "",
                )
                mac = compute_mac(self._key, b"", canonical_bytes(signed))
                stamped["seclog.mac"] = mac.hex()
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
