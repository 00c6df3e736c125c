"""A direct OTLP protobuf encoder for batches of log records.

The SDK's encoder builds one protobuf object per record, attribute and value
before serializing, which costs the delivery thread (and, through the GIL, the
app) about 30 µs a record; security events are flat records of strings and
numbers, so this writes the same wire bytes directly. Anything unusual (a
value type it does not know, text that is not valid UTF-8) falls back to the
SDK's encoder for the whole batch, so the output is always what the SDK sends.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord

from ._otel_compat import attribute_items, encode_resource_and_scope, sdk_encode_logs

__all__ = ["encode_log_batch"]

_pack_double = struct.Struct("<d").pack
_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_MASK64 = (1 << 64) - 1

# Attribute names repeat from record to record: keep their encoded key field (bounded).
_KEY_CACHE_SIZE = 4096
_keys: dict[str, bytes] = {}
# Resources and scopes are few and immutable: keep their encoded message (bounded).
_headers: dict[tuple[object, object], tuple[bytes, bytes, bytes]] = {}


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    size = len(payload)
    return tag + (bytes((size,)) if size < 0x80 else _varint(size)) + payload


def _any_value(value: Any) -> bytes:
    """The serialized AnyValue message (a oneof: a zero value is still written)."""
    kind = type(value)
    if kind is str:
        return _field(b"\x0a", value.encode("utf-8"))
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        return b"\x18" + _varint(value & _MASK64)
    if kind is float:
        return b"\x21" + _pack_double(value)
    if value is None:
        return b""
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, (list, tuple)):
        array = b"".join(_field(b"\x0a", _any_value(item)) for item in value)
        return _field(b"\x2a", array)
    if isinstance(value, Mapping):
        pairs = b"".join(_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items())
        return _field(b"\x32", pairs)
    # bool/int/float/str subclasses and anything else: the SDK's encoder decides.
    raise TypeError(type(value).__name__)


def _key_value(key: str, value: Any) -> bytes:
    encoded = _keys.get(key)
    if encoded is None:
        encoded = _key(key)
    return encoded + _field(b"\x12", _any_value(value))


# (KeyValue.value tag, AnyValue length, AnyValue.string_value tag, string length) for
# strings short enough that both lengths fit one varint byte: the common case.
_SHORT_STR = [bytes((0x12, n + 2, 0x0A, n)) for n in range(126)]


def _attribute(key: str, value: Any) -> bytes:
    """One LogRecord.attributes field (tag 6) holding a KeyValue."""
    if type(value) is str:
        raw = value.encode("utf-8")
        size = len(raw)
        if size < 126:
            encoded = _keys.get(key)
            if encoded is None:
                encoded = _key(key)
            pair = encoded + _SHORT_STR[size] + raw
            total = len(pair)
            if total < 0x80:
                return b"\x32" + bytes((total,)) + pair
            return b"\x32" + _varint(total) + pair
    return _field(b"\x32", _key_value(key, value))


def _key(key: str) -> bytes:
    encoded = _field(b"\x0a", key.encode("utf-8"))
    if len(_keys) >= _KEY_CACHE_SIZE:
        _keys.clear()
    _keys[key] = encoded
    return encoded


def _log_record(readable: ReadableLogRecord) -> bytes:
    record = readable.log_record
    parts: list[bytes] = []
    if record.timestamp:
        parts.append(b"\x09" + _pack_fixed64(record.timestamp))
    severity = getattr(record.severity_number, "value", None)
    if severity:
        parts.append(b"\x10" + _varint(severity))
    if record.severity_text:
        parts.append(_field(b"\x1a", record.severity_text.encode("utf-8")))
    parts.append(_field(b"\x2a", _any_value(record.body)))
    attributes = record.attributes
    if attributes:
        parts.extend([_attribute(k, v) for k, v in attribute_items(attributes)])
    dropped = readable.dropped_attributes
    if dropped:
        parts.append(b"\x38" + _varint(dropped))
    flags = int(record.trace_flags or 0)
    if flags:
        parts.append(b"\x45" + _pack_fixed32(flags))
    if record.trace_id:
        parts.append(b"\x4a\x10" + record.trace_id.to_bytes(16, "big"))
    if record.span_id:
        parts.append(b"\x52\x08" + record.span_id.to_bytes(8, "big"))
    if record.observed_timestamp:
        parts.append(b"\x59" + _pack_fixed64(record.observed_timestamp))
    if record.event_name:
        parts.append(_field(b"\x62", record.event_name.encode("utf-8")))
    return b"".join(parts)


def _header(readable: ReadableLogRecord) -> tuple[bytes, bytes, bytes]:
    """ResourceLogs' resource and schema_url fields, and ScopeLogs' scope + schema_url."""
    resource = readable.resource
    scope = readable.instrumentation_scope or None
    slot = (resource, scope)
    cached = _headers.get(slot)
    if cached is None:
        # The SDK's own encoder passes None for a record without a scope, as here.
        resource_bytes, scope_bytes = encode_resource_and_scope(resource, scope)
        resource_part = _field(b"\x0a", resource_bytes)
        scope_part = _field(b"\x0a", scope_bytes)
        if scope is not None and scope.schema_url:
            scope_part += _field(b"\x1a", scope.schema_url.encode("utf-8"))
        schema_part = b""
        if resource.schema_url:
            schema_part = _field(b"\x1a", resource.schema_url.encode("utf-8"))
        cached = (resource_part, schema_part, scope_part)
        if len(_headers) >= 64:
            _headers.clear()
        _headers[slot] = cached
    return cached


def _fast(batch: Sequence[ReadableLogRecord]) -> bytes:
    # Group as the SDK does: by resource, then by scope, in first-seen order. Records of
    # one provider share these objects, so group by identity first: hashing a Resource
    # serializes its attributes to JSON, once per distinct object is enough.
    by_identity: dict[tuple[int, int], list[ReadableLogRecord]] = {}
    for readable in batch:
        slot = (id(readable.resource), id(readable.instrumentation_scope))
        records = by_identity.get(slot)
        if records is None:
            records = by_identity[slot] = []
        records.append(readable)
    groups: dict[object, dict[object, list[bytes]]] = {}
    heads: dict[object, tuple[bytes, bytes, bytes]] = {}
    scopes_seen: dict[tuple[object, object], bytes] = {}
    for same in by_identity.values():
        first = same[0]
        resource = first.resource
        scope = first.instrumentation_scope or None
        by_scope = groups.get(resource)
        if by_scope is None:
            by_scope = groups[resource] = {}
        records_out = by_scope.get(scope)
        if records_out is None:
            records_out = by_scope[scope] = []
            heads[resource] = _header(first)
            scopes_seen[(resource, scope)] = heads[resource][2]
        records_out.extend(_field(b"\x12", _log_record(readable)) for readable in same)
    out: list[bytes] = []
    for owner, owned in groups.items():
        resource_part, schema_part, _ = heads[owner]
        body = [resource_part]
        for scoped, encoded in owned.items():
            body.append(_field(b"\x12", scopes_seen[(owner, scoped)] + b"".join(encoded)))
        body.append(schema_part)
        out.append(_field(b"\x0a", b"".join(body)))
    return b"".join(out)


def encode_log_batch(batch: Sequence[ReadableLogRecord]) -> bytes:
    """The serialized ``ExportLogsServiceRequest`` for ``batch``, as the SDK would send it."""
    try:
        return _fast(batch)
    except Exception:
        return sdk_encode_logs(batch)
