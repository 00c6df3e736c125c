"""Reading exported log records back, strictly, for ``seclog verify``.

Two formats: OTLP JSON as the Collector's file exporter writes it (one
``ExportLogsServiceRequest`` per line; camelCase or snake_case field names, ids
in hex or base64, severity as a number or an enum name) and seclog's JSON-lines
sink. Anything two readers could read differently is kept as a *problem* of the
record rather than resolved silently: a JSON key or attribute given twice, a
field under two spellings, an AnyValue with two types, a value of the wrong type.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RawRecord", "parse_line"]

_DIGITS = re.compile(r"-?[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]*")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1

# OTLP LogRecord fields, with the spellings the Collector's JSON reader accepts.
_RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "time": ("timeUnixNano", "time_unix_nano"),
    "observed": ("observedTimeUnixNano", "observed_time_unix_nano"),
    "severity_number": ("severityNumber", "severity_number"),
    "severity_text": ("severityText", "severity_text"),
    "body": ("body",),
    "attributes": ("attributes",),
    "dropped": ("droppedAttributesCount", "dropped_attributes_count"),
    "flags": ("flags",),
    "trace_id": ("traceId", "trace_id"),
    "span_id": ("spanId", "span_id"),
    "event_name": ("eventName", "event_name"),
}
_ANY_KINDS: dict[str, str] = {
    "stringValue": "string",
    "string_value": "string",
    "boolValue": "bool",
    "bool_value": "bool",
    "intValue": "int",
    "int_value": "int",
    "doubleValue": "double",
    "double_value": "double",
    "bytesValue": "bytes",
    "bytes_value": "bytes",
    "arrayValue": "array",
    "array_value": "array",
    "kvlistValue": "kvlist",
    "kvlist_value": "kvlist",
}
_SEVERITY_NAMES: dict[str, int] = {"SEVERITY_NUMBER_UNSPECIFIED": 0}
for _base, _name in enumerate(("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")):
    for _step in range(4):
        _suffix = "" if _step == 0 else str(_step + 1)
        _SEVERITY_NAMES[f"SEVERITY_NUMBER_{_name}{_suffix}"] = _base * 4 + _step + 1
_SINK_FIELDS = (
    "timestamp",
    "event_name",
    "severity_text",
    "severity_number",
    "body",
    "trace_id",
    "span_id",
    "attributes",
)


@dataclass
class RawRecord:
    """One log record as read, before any judgement about its ids or MAC."""

    line: int
    index: int  # 1-based position among the records of its line
    event_name: str = ""
    timestamp_ns: int = 0
    observed_ns: int = 0
    body: Any = None
    severity_number: int = 0
    severity_text: str = ""
    trace_id: str = ""
    span_id: str = ""
    dropped_attributes: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object kept as its key/value pairs, so repeated keys stay visible."""


def _keep_pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    return _Pairs(pairs)


def _object(value: Any, what: str, problems: list[str]) -> dict[str, Any] | None:
    """A JSON object as a dict; a key given twice is a problem (the first value is kept)."""
    if not isinstance(value, _Pairs):
        problems.append(f"{what} is not a JSON object")
        return None
    result: dict[str, Any] = {}
    for key, item in value:
        if key in result:
            problems.append(f"{what} has the key {key!r} twice")
            continue
        result[key] = item
    return result


def _field(obj: dict[str, Any], spellings: tuple[str, ...], what: str, problems: list[str]) -> Any:
    present = [name for name in spellings if name in obj]
    if len(present) > 1:
        problems.append(f"{what} is given twice ({' and '.join(present)})")
    return obj[present[0]] if present else None


def _integer(value: Any, what: str, problems: list[str], low: int, high: int) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        problems.append(f"{what} is not an integer")
        return 0
    if not low <= number <= high:
        problems.append(f"{what} is out of range")
        return 0
    return number


def _any_value(value: Any, what: str, problems: list[str], depth: int = 0) -> Any:
    obj = _object(value, what, problems)
    if obj is None:
        return None
    if not obj:
        return None
    if len(obj) > 1 or depth > 8:
        problems.append(f"{what} holds more than one value ({', '.join(sorted(obj))})")
    name, raw = next(iter(obj.items()))
    kind = _ANY_KINDS.get(name)
    if kind == "string" and isinstance(raw, str):
        return raw
    if kind == "bool" and isinstance(raw, bool):
        return raw
    if kind == "int":
        return _integer(raw, what, problems, *_INT64)
    if kind == "double":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw)  # "NaN", "Infinity" as the OTLP JSON mapping writes them
            except ValueError:
                pass
    if kind == "bytes" and isinstance(raw, str):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            pass
    if kind == "array":
        holder = _object(raw, f"{what} array", problems) or {}
        items = holder.get("values", [])
        if isinstance(items, list):
            return [_any_value(item, what, problems, depth + 1) for item in items]
    if kind == "kvlist":
        holder = _object(raw, f"{what} kvlist", problems) or {}
        return _key_values(holder.get("values", []), what, problems, depth + 1)
    problems.append(f"{what} is not a valid AnyValue ({name})")
    return None


def _key_values(items: Any, what: str, problems: list[str], depth: int = 0) -> dict[str, Any]:
    """OTLP ``[{"key": k, "value": v}, ...]``; a key given twice is a problem, first one kept."""
    result: dict[str, Any] = {}
    if not isinstance(items, list):
        problems.append(f"{what} is not a list of key/value pairs")
        return result
    for item in items:
        pair = _object(item, f"{what} entry", problems)
        if pair is None:
            continue
        key = pair.get("key")
        if not isinstance(key, str):
            problems.append(f"{what} has an entry without a string key")
            continue
        value = _any_value(pair.get("value", _Pairs()), f"attribute {key!r}", problems, depth)
        if key in result:
            problems.append(f"attribute {key!r} is given twice (readers disagree on which counts)")
            continue
        result[key] = value
    return result


def _id(value: Any, size: int, what: str, problems: list[str]) -> str:
    """A trace or span id as lower-case hex, "" when absent or zero (hex or base64 accepted)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if len(value) == size * 2 and _HEX.fullmatch(value):
            raw = bytes.fromhex(value)
        else:
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
        if len(raw) == size:
            return "" if not any(raw) else raw.hex()
    problems.append(f"{what} is not a {size}-byte id")
    return ""


def _severity(value: Any, problems: list[str]) -> int:
    if isinstance(value, str) and value in _SEVERITY_NAMES:
        return _SEVERITY_NAMES[value]
    return _integer(value, "severity number", problems, 0, 24)


def _text(value: Any, what: str, problems: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    problems.append(f"{what} is not a string")
    return str(value)


def _otlp_record(item: Any, line: int, index: int) -> RawRecord:
    record = RawRecord(line, index)
    problems = record.problems
    obj = _object(item, "the log record", problems)
    if obj is None:
        return record
    known = {name for names in _RECORD_FIELDS.values() for name in names}
    for name in obj:
        if name not in known:
            problems.append(f"the log record has an unknown field {name!r}")
    get = {key: _field(obj, names, key, problems) for key, names in _RECORD_FIELDS.items()}
    record.event_name = _text(get["event_name"], "event name", problems)
    record.timestamp_ns = _integer(get["time"], "timestamp", problems, 0, _UINT64_MAX)
    record.observed_ns = _integer(get["observed"], "observed timestamp", problems, 0, _UINT64_MAX)
    record.severity_number = _severity(get["severity_number"], problems)
    record.severity_text = _text(get["severity_text"], "severity text", problems)
    record.body = None if get["body"] is None else _any_value(get["body"], "body", problems)
    record.trace_id = _id(get["trace_id"], 16, "trace id", problems)
    record.span_id = _id(get["span_id"], 8, "span id", problems)
    record.dropped_attributes = _integer(get["dropped"], "dropped count", problems, 0, 2**32)
    if get["attributes"] is not None:
        record.attributes = _key_values(get["attributes"], "attributes", problems)
    return record


def _otlp_records(document: dict[str, Any], line: int, problems: list[str]) -> list[RawRecord]:
    records: list[RawRecord] = []
    resources = _field(document, ("resourceLogs", "resource_logs"), "resourceLogs", problems)
    for resource_logs in _list(resources, "resourceLogs", problems):
        holder = _object(resource_logs, "resourceLogs entry", problems) or {}
        scopes = _field(holder, ("scopeLogs", "scope_logs"), "scopeLogs", problems)
        for scope_logs in _list(scopes, "scopeLogs", problems):
            scope = _object(scope_logs, "scopeLogs entry", problems) or {}
            items = _field(scope, ("logRecords", "log_records"), "logRecords", problems)
            for item in _list(items, "logRecords", problems):
                records.append(_otlp_record(item, line, len(records) + 1))
    return records


def _list(value: Any, what: str, problems: list[str]) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    problems.append(f"{what} is not a list")
    return []


def _sink_value(value: Any, what: str, problems: list[str]) -> Any:
    if isinstance(value, _Pairs):
        problems.append(f"{what} is an object (seclog writes scalars and lists)")
        return {
            k: _sink_value(v, what, problems)
            for k, v in (_object(value, what, problems) or {}).items()
        }
    if isinstance(value, list):
        return [_sink_value(item, what, problems) for item in value]
    return value


def _sink_record(document: dict[str, Any], line: int) -> RawRecord:
    record = RawRecord(line, 1)
    problems = record.problems
    for name in document:
        if name not in _SINK_FIELDS:
            problems.append(f"the record has an unknown field {name!r}")
    record.event_name = _text(document.get("event_name"), "event name", problems)
    record.timestamp_ns = _integer(document.get("timestamp"), "timestamp", problems, 0, _UINT64_MAX)
    record.severity_number = _severity(document.get("severity_number"), problems)
    record.severity_text = _text(document.get("severity_text"), "severity text", problems)
    record.body = _sink_value(document.get("body"), "body", problems)
    record.trace_id = _id(document.get("trace_id"), 16, "trace id", problems)
    record.span_id = _id(document.get("span_id"), 8, "span id", problems)
    attributes = _object(document.get("attributes", _Pairs()), "attributes", problems) or {}
    for key, value in attributes.items():
        if isinstance(value, float) and math.isinf(value) and key.startswith("seclog."):
            problems.append(f"attribute {key!r} is not finite")
        record.attributes[key] = _sink_value(value, f"attribute {key!r}", problems)
    return record


def parse_line(raw: bytes, line: int) -> tuple[str, list[RawRecord], list[str]]:
    """Classify and read one line: ("otlp" | "sink" | "other" | "unknown", records, problems).

    Raises ValueError when the line is not a JSON object.
    """
    document = json.loads(raw, object_pairs_hook=_keep_pairs)
    problems: list[str] = []
    top = _object(document, f"line {line}", problems)
    if top is None:
        raise ValueError("not a JSON object")
    if "resourceLogs" in top or "resource_logs" in top:
        return "otlp", _otlp_records(top, line, problems), problems
    if "event_name" in top and "attributes" in top:
        record = _sink_record(top, line)
        record.problems[:0] = problems
        return "sink", [record], []
    if any(k in top for k in ("resourceSpans", "resourceMetrics", "resourceProfiles")):
        return "other", [], problems
    return "unknown", [], problems
