"""A direct OTLP protobuf encoder for batches of log records and spans.

The SDK's encoder builds one protobuf object per record, attribute and value
before serializing, which costs the delivery thread (and, through the GIL, the
app) about 30 µs a record; security events and seclog's spans are flat records
of strings and numbers, so this writes the same wire bytes directly. Anything
unusual (a value type it does not know, text that is not valid UTF-8) falls back
to the SDK's encoder for the whole batch, so the output is always what the SDK
sends.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.trace import ReadableSpan

from ._otel_compat import (
    attribute_items,
    encode_resource_and_scope,
    sdk_encode_logs,
    sdk_encode_spans,
    span_attribute_items,
)

__all__ = ["encode_log_batch", "encode_span_batch"]

_pack_double = struct.Struct("<d").pack
_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_MASK64 = (1 << 64) - 1

# Attribute names repeat from record to record: keep their encoded key field (bounded).
_KEY_CACHE_SIZE = 4096
_keys: dict[str, bytes] = {}
# Resources and scopes are few and immutable: keep their encoded message (bounded).
_headers: dict[tuple[object, object], tuple[bytes, bytes, bytes, bytes]] = {}


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

# Short string attributes repeat from record to record (the event's type, outcome,
# reason, the request's route and method): keep each pair's encoded KeyValue, its
# length included, the field tag not (bounded: cleared when full). The values are
# the already scrubbed ones that are being exported anyway.
_PAIR_CACHE_SIZE = 8192
_pairs: dict[tuple[str, str], bytes] = {}


def _string_pair(key: str, value: str) -> bytes:
    """The length-prefixed KeyValue of a string attribute (cached when short)."""
    raw = value.encode("utf-8")
    size = len(raw)
    if size >= 126:
        return _length_prefixed(_key_value(key, value))
    encoded = _keys.get(key)
    if encoded is None:
        encoded = _key(key)
    pair = _length_prefixed(encoded + _SHORT_STR[size] + raw)
    if len(_pairs) >= _PAIR_CACHE_SIZE:
        _pairs.clear()
    _pairs[(key, value)] = pair
    return pair


def _length_prefixed(payload: bytes) -> bytes:
    size = len(payload)
    return (bytes((size,)) if size < 0x80 else _varint(size)) + payload


def _attributes_into(parts: list[bytes], tag: bytes, items: Any) -> None:
    """Append one repeated KeyValue field (``tag``) per attribute to ``parts``."""
    append = parts.append
    pairs = _pairs
    for key, value in items:
        append(tag)
        if type(value) is str:
            encoded = pairs.get((key, value))
            append(encoded if encoded is not None else _string_pair(key, value))
        else:
            append(_length_prefixed(_key_value(key, value)))


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
        _attributes_into(parts, b"\x32", attribute_items(attributes))
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


def _header(item: Any) -> tuple[bytes, bytes, bytes, bytes]:
    """The resource and its schema_url field, the scope and its schema_url field."""
    resource = item.resource
    scope = item.instrumentation_scope or None
    slot = (resource, scope)
    cached = _headers.get(slot)
    if cached is None:
        # The SDK's own encoders pass None for an item without a scope, as here.
        resource_bytes, scope_bytes = encode_resource_and_scope(resource, scope)
        resource_part = _field(b"\x0a", resource_bytes)
        scope_part = _field(b"\x0a", scope_bytes)
        scope_schema = b""
        if scope is not None and scope.schema_url:
            scope_schema = _field(b"\x1a", scope.schema_url.encode("utf-8"))
        schema_part = b""
        if resource.schema_url:
            schema_part = _field(b"\x1a", resource.schema_url.encode("utf-8"))
        cached = (resource_part, schema_part, scope_part, scope_schema)
        if len(_headers) >= 64:
            _headers.clear()
        _headers[slot] = cached
    return cached


def _fast(batch: Sequence[Any], encode_item: Callable[[Any], bytes]) -> bytes:
    # ResourceLogs/ScopeLogs and ResourceSpans/ScopeSpans share one layout: resource (1),
    # scopes (2), schema_url (3); scope (1), items (2), schema_url (3).
    # Group as the SDK does: by resource, then by scope, in first-seen order. Items of
    # one provider share these objects, so group by identity first: hashing a Resource
    # serializes its attributes to JSON, once per distinct object is enough.
    by_identity: dict[tuple[int, int], list[Any]] = {}
    for item in batch:
        slot = (id(item.resource), id(item.instrumentation_scope))
        items = by_identity.get(slot)
        if items is None:
            items = by_identity[slot] = []
        items.append(item)
    groups: dict[object, dict[object, list[bytes]]] = {}
    heads: dict[object, tuple[bytes, bytes, bytes, bytes]] = {}
    scopes_seen: dict[tuple[object, object], tuple[bytes, bytes, bytes, bytes]] = {}
    for same in by_identity.values():
        first = same[0]
        resource = first.resource
        scope = first.instrumentation_scope or None
        by_scope = groups.get(resource)
        if by_scope is None:
            by_scope = groups[resource] = {}
        encoded_out = by_scope.get(scope)
        if encoded_out is None:
            encoded_out = by_scope[scope] = []
            heads[resource] = scopes_seen[(resource, scope)] = _header(first)
        encoded_out.extend([_field(b"\x12", encode_item(item)) for item in same])
    out: list[bytes] = []
    for owner, owned in groups.items():
        resource_part, schema_part, _, _ = heads[owner]
        body = [resource_part]
        for scoped, encoded in owned.items():
            _, _, scope_part, scope_schema = scopes_seen[(owner, scoped)]
            body.append(_field(b"\x12", scope_part + b"".join(encoded) + scope_schema))
        body.append(schema_part)
        out.append(_field(b"\x0a", b"".join(body)))
    return b"".join(out)


def encode_log_batch(batch: Sequence[ReadableLogRecord]) -> bytes:
    """The serialized ``ExportLogsServiceRequest`` for ``batch``, as the SDK would send it."""
    try:
        return _fast(batch, _log_record)
    except Exception:
        return sdk_encode_logs(batch)


# --- spans -----------------------------------------------------------------------------

# Span.flags (field 16, fixed32): the SDK always says whether the parent is remote.
_FLAGS_LOCAL = b"\x85\x01" + _pack_fixed32(0x100)
_FLAGS_REMOTE = b"\x85\x01" + _pack_fixed32(0x300)
# The API's SpanKind values are the protobuf's minus one (INTERNAL 0 -> 1 ...).
_KINDS = [b"\x30" + bytes((n + 1,)) for n in range(5)]


def _span_event(event: Any) -> bytes:
    parts: list[bytes] = []
    if event.timestamp:
        parts.append(b"\x09" + _pack_fixed64(event.timestamp))
    if event.name:
        parts.append(_field(b"\x12", event.name.encode("utf-8")))
    attributes = event.attributes
    if attributes:
        _attributes_into(parts, b"\x1a", attribute_items(attributes))
    dropped = event.dropped_attributes
    if dropped:
        parts.append(b"\x20" + _varint(dropped))
    return _field(b"\x5a", b"".join(parts))


def _span_link(link: Any) -> bytes:
    context = link.context
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    attributes = link.attributes
    if attributes:
        _attributes_into(parts, b"\x22", attribute_items(attributes))
    dropped = link.dropped_attributes
    if dropped:
        parts.append(b"\x28" + _varint(dropped))
    parts.append(b"\x35" + _pack_fixed32(0x300 if context.is_remote else 0x100))
    return _field(b"\x6a", b"".join(parts))


def _span(span: ReadableSpan) -> bytes:
    context = span.get_span_context()
    if context is None:
        raise ValueError("a span without a context")
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    trace_state = context.trace_state
    if trace_state:
        state = ",".join([f"{key}={value}" for key, value in trace_state.items()])
        parts.append(_field(b"\x1a", state.encode("utf-8")))
    parent = span.parent
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    if span.name:
        parts.append(_field(b"\x2a", span.name.encode("utf-8")))
    parts.append(_KINDS[span.kind.value])
    if span.start_time:
        parts.append(b"\x39" + _pack_fixed64(span.start_time))
    if span.end_time:
        parts.append(b"\x41" + _pack_fixed64(span.end_time))
    _attributes_into(parts, b"\x4a", span_attribute_items(span))
    dropped = span.dropped_attributes
    if dropped:
        parts.append(b"\x50" + _varint(dropped))
    events = span.events
    if events:
        parts.extend([_span_event(event) for event in events])
    dropped = span.dropped_events
    if dropped:
        parts.append(b"\x60" + _varint(dropped))
    links = span.links
    if links:
        parts.extend([_span_link(link) for link in links])
    dropped = span.dropped_links
    if dropped:
        parts.append(b"\x70" + _varint(dropped))
    status = span.status
    if status is not None:
        # Set even when empty (an UNSET status without description): the SDK writes it.
        fields = b""
        if status.description:
            fields = _field(b"\x12", status.description.encode("utf-8"))
        code = status.status_code.value
        if code:
            fields += b"\x18" + _varint(code)
        parts.append(_field(b"\x7a", fields))
    parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
    return b"".join(parts)


def encode_span_batch(batch: Sequence[ReadableSpan]) -> bytes:
    """The serialized ``ExportTraceServiceRequest`` for ``batch``, as the SDK would send it."""
    try:
        return _fast(batch, _span)
    except Exception:
        return sdk_encode_spans(batch)
