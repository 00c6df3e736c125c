"""Signed streams as seclog exports them, in both file formats, and ways to tamper with them.

A :class:`Stream` holds the records of one export file (seclog's JSON-lines sink,
or OTLP JSON as the Collector's file exporter writes it) as mutable dicts, with
format-neutral helpers to read and change fields and attributes, and writes the
file back the way the exporter would.
"""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import ReadableLogRecord

import seclog_core as seclog
from seclog_core import pipeline
from seclog_core.export import JsonLinesExporter
from tests.support.telemetry import in_memory_telemetry

KEY = "catalogue-key-0123456789abcdefgh"

FORMATS = ("jsonl", "otlp-pdata", "otlp-protobuf")

_OTLP_FIELDS = {
    "event_name": "eventName",
    "timestamp": "timeUnixNano",
    "body": "body",
    "severity_number": "severityNumber",
    "severity_text": "severityText",
    "trace_id": "traceId",
    "span_id": "spanId",
}


def signed_records(
    close: bool = True, key: str | None = KEY, **settings: Any
) -> Sequence[ReadableLogRecord]:
    """Eight signed events through the public API (two inside a trace, one ERROR alert),
    then, with ``close``, seclog's flush: nine records ending in the closing checkpoint."""
    settings.setdefault("detectors", False)  # host-shared detector state would add alerts
    if key is not None:
        settings["integrity_key"] = key
    with in_memory_telemetry(**settings) as telemetry:
        tracer = telemetry.tracer_provider.get_tracer("tests")
        seclog.login_failed(username="alice", reason="bad_credentials")
        with tracer.start_as_current_span("request"):
            seclog.access_denied(resource="/admin/export")
            seclog.emit("authz_fail", attributes={"http.response.status_code": 403})
        current = pipeline.get_pipeline()
        current.emit("alert_brute_force", {"user.name": "alice", "app.count": 12, "app.r": 0.5})
        seclog.login_succeeded(username="bob")
        seclog.emit("authz_admin", attributes={"app.roles": ["admin", "ops"], "app.flag": True})
        seclog.token_created(username="bob")
        seclog.logout(username="bob")
        if close:
            for flush in list(current.flushers):
                flush()
        return telemetry.logs.get_finished_logs()


def _py_to_any(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_py_to_any(v) for v in value]}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def _any_to_py(value: dict[str, Any]) -> Any:
    if not value:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "intValue":
        return int(raw)
    if kind == "arrayValue":
        return [_any_to_py(v) for v in raw.get("values", [])]
    return raw


class Stream:
    """The records of one export file, editable, in one of :data:`FORMATS`."""

    def __init__(self, records: Sequence[ReadableLogRecord], fmt: str) -> None:
        self.format = fmt
        self.records: list[dict[str, Any]] = []
        self.line_of: list[int] = []  # OTLP: which line (request) a record belongs to
        if fmt == "jsonl":
            sink = io.StringIO()
            JsonLinesExporter(sink).export(records)
            self.records = [json.loads(line) for line in sink.getvalue().splitlines()]
            self.line_of = list(range(len(self.records)))
            return
        half = len(records) // 2
        for number, batch in enumerate((records[:half], records[half:])):
            document = MessageToDict(encode_logs(batch))
            for resource in document["resourceLogs"]:
                for scope in resource["scopeLogs"]:
                    for item in scope["logRecords"]:
                        if fmt == "otlp-pdata":  # the Collector writes hex ids, number severities
                            for name in ("traceId", "spanId"):
                                if name in item:
                                    item[name] = base64.b64decode(item[name]).hex()
                            item["severityNumber"] = _SEVERITIES[item["severityNumber"]]
                        self.records.append(item)
                        self.line_of.append(number)

    @property
    def otlp(self) -> bool:
        return self.format != "jsonl"

    # --- fields and attributes, format-neutral ---

    def get(self, index: int, name: str) -> Any:
        record = self.records[index]
        if not self.otlp:
            return record.get(name)
        value = record.get(_OTLP_FIELDS[name])
        if name == "body":
            return _any_to_py(value or {})
        if name == "timestamp":
            return int(value or 0)
        return value

    def set(self, index: int, name: str, value: Any) -> None:
        record = self.records[index]
        if not self.otlp:
            record[name] = value
        elif name == "body":
            record["body"] = _py_to_any(value)
        elif name == "timestamp":
            record["timeUnixNano"] = str(value)
        else:
            record[_OTLP_FIELDS[name]] = value

    def attr(self, index: int, key: str) -> Any:
        record = self.records[index]
        if not self.otlp:
            return record["attributes"].get(key)
        for pair in record.get("attributes", []):
            if pair["key"] == key:
                return _any_to_py(pair["value"])
        return None

    def set_attr(self, index: int, key: str, value: Any, *, raw: Any = None) -> None:
        """Set (or add) an attribute; ``raw`` is the exact JSON to write instead of ``value``."""
        record = self.records[index]
        if not self.otlp:
            record["attributes"][key] = value if raw is None else raw
            return
        encoded = _py_to_any(value) if raw is None else raw
        for pair in record.setdefault("attributes", []):
            if pair["key"] == key:
                pair["value"] = encoded
                return
        record["attributes"].append({"key": key, "value": encoded})

    def del_attr(self, index: int, key: str) -> None:
        record = self.records[index]
        if not self.otlp:
            record["attributes"].pop(key, None)
        else:
            record["attributes"] = [p for p in record["attributes"] if p["key"] != key]

    def dup_attr_first(self, index: int, key: str, value: Any) -> None:
        """Give ``key`` a second, forged value placed BEFORE the real one."""
        record = self.records[index]
        if self.otlp:
            record["attributes"].insert(0, {"key": key, "value": _py_to_any(value)})
        else:
            record["attributes"] = _DupFirst(record["attributes"], key, value)

    # --- records ---

    def copy(self, index: int) -> dict[str, Any]:
        return copy.deepcopy(self.records[index])

    def insert(self, index: int, record: dict[str, Any]) -> None:
        self.records.insert(index, record)
        self.line_of.insert(index, self.line_of[min(index, len(self.line_of) - 1)])

    def delete(self, index: int) -> None:
        del self.records[index]
        del self.line_of[index]

    # --- writing ---

    def lines(self) -> list[str]:
        if not self.otlp:
            return [_dumps(record) for record in self.records]
        grouped: dict[int, list[dict[str, Any]]] = {}
        for record, line in zip(self.records, self.line_of, strict=True):
            grouped.setdefault(line, []).append(record)
        return [
            _dumps(
                {
                    "resourceLogs": [
                        {
                            "resource": {},
                            "scopeLogs": [{"scope": {"name": "seclog"}, "logRecords": items}],
                        }
                    ]
                }
            )
            for _, items in sorted(grouped.items())
        ]

    def write(self, path: Path) -> Path:
        lines = self.lines()
        path.write_text("".join(line + "\n" for line in lines))
        return path


class _DupFirst(dict[str, Any]):
    """A JSON object written with ``key`` twice: the forged value first, then the real one."""

    def __init__(self, real: dict[str, Any], key: str, forged: Any) -> None:
        super().__init__(real)
        self.key, self.forged = key, forged


def _dumps(value: Any) -> str:
    if isinstance(value, _DupFirst):
        inner = [f"{json.dumps(value.key)}: {_dumps(value.forged)}"]
        inner += [f"{json.dumps(k)}: {_dumps(v)}" for k, v in value.items()]
        return "{" + ", ".join(inner) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)


_SEVERITIES = {
    "SEVERITY_NUMBER_INFO": 9,
    "SEVERITY_NUMBER_WARN": 13,
    "SEVERITY_NUMBER_ERROR": 17,
}
