"""The logging inventory OWASP ASVS 5.0 requirement 16.1.1 asks for, from a checked app.

Which events are logged (the vocabulary, with what triggers each one in this
app: HTTP statuses, framework signals, detectors, the manual API), in what
format (OTLP LogRecord fields and attribute names) and where they go (the
configured exporter, the local sink, the spool). Rendered as Markdown or JSON.
"""

from __future__ import annotations

import json
from typing import Any

from .check import CheckReport

__all__ = ["build_inventory", "inventory_json", "inventory_markdown"]

# Django auth signals seclog_django connects, and the events they become.
_DJANGO_SIGNALS = {
    "user_logged_in": "authn_login_success",
    "user_logged_out": "authn_logout",
    "user_login_failed": "authn_login_fail",
}
_CONTEXT_ATTRIBUTES = (
    "client.address",
    "network.peer.address",
    "http.request.method",
    "url.path",
    "http.route",
    "url.scheme",
    "server.address",
    "user_agent.original",
    "http.request.id",
    "user.id",
    "user.name",
)
_EVENT_ATTRIBUTES = (
    "security.event",
    "security.outcome",
    "security.level",
    "security.reason",
    "http.response.status_code",
    "error.type",
    "exception.type",
    "exception.message",
)
_RECORD_FIELDS = {
    "event_name": "`security.<type>`",
    "timestamp": "time of the event (ns)",
    "severity_number / severity_text": "INFO, WARN or ERROR, from the vocabulary",
    "body": "a short sentence, scrubbed",
    "trace_id / span_id": "the request's trace, or a short span of seclog's own",
    "attributes": "OpenTelemetry semantic-convention names, seclog's under security.*",
}


def _sources(report: CheckReport) -> dict[str, list[str]]:
    from seclog_core.http import STATUS_EVENTS

    sources: dict[str, list[str]] = {}

    def add(event: str, source: str) -> None:
        sources.setdefault(event, []).append(source)

    for status, (event, _reason) in sorted(STATUS_EVENTS.items()):
        add(event, f"HTTP {status} response")
    add("sys_error", "HTTP 5xx response or unhandled exception")
    add("malicious_extraneous", "Forwarded/X-Forwarded-For from a peer that is not a trusted proxy")
    if report.framework == "django" and "signals" in report.hooks:
        for signal, event in _DJANGO_SIGNALS.items():
            add(event, f"Django signal {signal}")
    settings = report.settings
    if settings is not None and settings.detectors:
        from seclog_core.detect.rules import resolve_rules

        for name, rule in resolve_rules(settings.detector_options).items():
            if not rule.enabled:
                continue
            add(
                rule.emits,
                f"detector {name}: {rule.threshold} x {rule.watches} per {rule.key} "
                f"within {rule.window:g} s",
            )
    return sources


def _destinations(report: CheckReport) -> list[dict[str, Any]]:
    from seclog_core.export import collector_configured, otlp_endpoint, otlp_protocol
    from seclog_core.url_scrubbing import scrub_url

    settings = report.settings
    found: list[dict[str, Any]] = []
    if collector_configured():
        endpoint = otlp_endpoint("logs")
        try:
            protocol = otlp_protocol("logs")
        except ValueError:
            protocol = "invalid"
        # The inventory is shared (ASVS evidence): never with the endpoint's credentials.
        found.append({"kind": "otlp", "endpoint": scrub_url(endpoint or ""), "protocol": protocol})
    sink = settings.local_sink if settings is not None else "auto"
    if sink == "stderr" or (sink == "auto" and not collector_configured()):
        found.append({"kind": "stderr", "format": "JSON lines, one record per line"})
    if settings is not None and settings.spool_dir:
        found.append({"kind": "spool", "path": settings.spool_dir})
    found.append(
        {
            "kind": "span events",
            "note": "each event is also a span event on the request's trace",
        }
    )
    return found


def build_inventory(report: CheckReport) -> dict[str, Any]:
    """The inventory as a plain dict (the JSON form)."""
    from seclog_core.vocabulary import VOCABULARY

    sources = _sources(report)
    settings = report.settings
    attributes = [*_CONTEXT_ATTRIBUTES, *_EVENT_ATTRIBUTES, "seclog.stream_id", "seclog.sequence"]
    if settings is not None and settings.integrity_key:
        attributes += ["seclog.mac", "seclog.mac_v", "seclog.key_id"]
    if settings is not None and settings.ecs:
        attributes += ["event.category", "event.type", "event.outcome"]
    if settings is not None and settings.ocsf:
        attributes += ["ocsf.class_uid"]
    events = [
        {
            "event_name": f"security.{kind.name}",
            "severity": kind.severity.text,
            "owasp_level": kind.level,
            "category": kind.category,
            "description": kind.description,
            "sources": [*sources.get(kind.name, []), "manual API"],
        }
        for kind in VOCABULARY.values()
    ]
    return {
        "requirement": "OWASP ASVS 5.0 16.1.1 (logging inventory)",
        "application": {"framework": report.framework, "target": report.target},
        "hooks": report.hooks,
        "integrations": report.integrations,
        "format": {
            "record": "OpenTelemetry LogRecord (OTLP)",
            "fields": _RECORD_FIELDS,
            "attributes": attributes,
        },
        "destinations": _destinations(report),
        "protection": {
            "redaction": "secrets scrubbed by key name and value pattern before export",
            "extra_redaction": list(settings.redact_keys) if settings is not None else [],
            "integrity": (
                "HMAC per record" if settings is not None and settings.integrity_key else "sequence"
            ),
        },
        "events": events,
    }


def inventory_json(inventory: dict[str, Any]) -> str:
    return json.dumps(inventory, indent=2) + "\n"


def inventory_markdown(inventory: dict[str, Any]) -> str:
    app = inventory["application"]
    out = [
        "# Security logging inventory",
        "",
        f"Application: {app['framework']} `{app['target']}`. "
        f"Written by `seclog check --inventory` for {inventory['requirement']}.",
        "",
        "## Where events go",
        "",
    ]
    for dest in inventory["destinations"]:
        details = ", ".join(f"{k}: {v}" for k, v in dest.items() if k != "kind")
        out.append(f"- **{dest['kind']}**: {details}")
    out += ["", "## Format", "", f"Each event is an {inventory['format']['record']}:", ""]
    out += ["| field | value |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in inventory["format"]["fields"].items()]
    out += ["", "Attributes: " + ", ".join(f"`{a}`" for a in inventory["format"]["attributes"])]
    protection = inventory["protection"]
    out += [
        "",
        f"Redaction: {protection['redaction']}. Integrity: {protection['integrity']}.",
        "",
        "## Events",
        "",
        "| event_name | severity | logged when | description |",
        "|---|---|---|---|",
    ]
    for event in inventory["events"]:
        out.append(
            f"| `{event['event_name']}` | {event['severity']} | "
            f"{'; '.join(event['sources'])} | {event['description']} |"
        )
    return "\n".join(out) + "\n"
