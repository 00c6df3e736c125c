"""Generate docs/events.md and docs/settings.md from the code, so the docs have one source.

The events page comes from ``seclog_core.VOCABULARY`` and ``seclog_core.FIELD_NAMES``;
the settings page from ``seclog_core.config.Settings``. Run ``python docs/gen_reference.py``
after changing either; ``tests/docs/test_reference.py`` fails while a committed page is stale.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from seclog_core import FIELD_NAMES, VOCABULARY
from seclog_core.config import Settings
from seclog_core.vocabulary import BUILT_IN_EVENT_TYPES

DOCS = Path(__file__).resolve().parent

# Which part of seclog emits a type on its own; a type not listed comes from your code.
EMITTED_BY: dict[str, str] = {
    "authn_login_success": "Django auth signal, Flask-Login, Flask-Security-Too, ASGI login routes",
    "authn_login_successafterfail": "the `success_after_fail` detector",
    "authn_login_fail": "Django auth signal, Flask-Security-Too, ASGI login routes",
    "authn_login_fail_max": "the `brute_force` detector",
    "authn_login_lock": "django-axes lockout",
    "authn_password_change": "Django (any path that sets a password), Flask-Security-Too",
    "authn_fail": "HTTP 401; Flask-Login refusals; Starlette auth refusals; DRF",
    "authn_logout": "Django auth signal, Flask-Login",
    "authz_fail": "HTTP 403; Django `PermissionDenied`; rejected WebSocket handshakes",
    "authz_change": "Django group and permission changes",
    "authz_admin": "Django admin log",
    "excess_rate_limit_exceeded": "HTTP 429; Flask-Limiter; DRF `Throttled`",
    "input_validation_fail": "Django and Flask-WTF CSRF failures; Django request-size errors",
    "malicious_excess_404": "the `scanning` detector",
    "malicious_extraneous": "Django suspicious operations; a forged forwarding header",
    "malicious_attack_tool": "the `attack_tool` detector",
    "privilege_permissions_changed": "Django `is_staff` / `is_superuser` changes",
    "sys_error": "HTTP 5xx and unhandled exceptions, in every adapter",
    "sys_checkpoint": "seclog itself, with an integrity key: periodic and closing checkpoints "
    "([integrity](integrity.md))",
    "user_created": "Django user saved for the first time; Flask-Security-Too registration",
    "user_updated": "Flask-Security-Too account changes",
    "user_archived": "Django user deactivated",
    "user_deleted": "Django user deleted",
}

SETTING_HELP: dict[str, str] = {
    "enabled": "switch seclog off entirely",
    "trusted_proxies": "addresses or networks of your proxies, e.g. `10.0.0.0/8,127.0.0.1`",
    "trusted_proxy_count": "or: the number of proxy hops in front of the app",
    "forwarded_header": "the one header your trusted proxy sets (`X-Forwarded-For`, "
    "`Forwarded`, `X-Real-IP`, ...); read only from trusted proxies",
    "redact_keys": "extra attribute or field names whose values are always redacted",
    "redact_patterns": "extra regular expressions whose matches are redacted",
    "redact_veto": "`callable(RedactionMatch) -> bool`; True keeps a value",
    "pseudonymize_key": "secret (16 characters or more) for keyed HMAC pseudonyms",
    "field_policies": "per attribute: `identify`, `pseudonymize` or `omit`, "
    "e.g. `user.name=pseudonymize,client.address=omit`",
    "max_value_length": "cap on every attribute value (characters, at least 16)",
    "ecs": "add ECS fields (`event.category`, `event.type`, `event.outcome`, ...)",
    "ocsf": "add OCSF ids (`ocsf.class_uid`, ...)",
    "span_events": "add each event to the active span as a span event",
    "own_spans": "start a short span for a request's events when the app has no tracing",
    "local_sink": "`auto` (stderr JSON lines when no collector is configured), `stderr`, `none`",
    "integrity_key": "secret for the HMAC signing every record (16 characters or more)",
    "integrity_key_id": "the key's id, written on every record (for rotation)",
    "spool_dir": "directory of the on-disk spool for a collector outage; `off` disables it",
    "spool_max_bytes": "size bound of the whole spool directory",
    "spool_drop": "when the spool is full: drop the `oldest` spooled batches or the `newest`",
    "detectors": "run the detectors (alerts)",
    "redis_url": "share detector state across workers and hosts through Redis",
    "redis_timeout": "the longest any Redis call may wait (seconds)",
    "detector_options": "per detector, e.g. `brute_force.threshold=5,scanning=off`",
    "flood_limit": "identical events per window before flood control summarizes (0: off)",
    "flood_window": "flood control's window (seconds)",
    "detector_max_keys": "memory cap: keys kept per detector and by flood control",
    "detector_state": "where detector windows live: `host` (SQLite shared by this host's "
    "workers), `process` (per process), `redis` (all hosts; needs `redis_url`)",
    "state_dir": "directory of the `host` detector state (default: the user cache directory)",
    "detector_ipv6_prefix": "IPv6 clients are counted per prefix of this length (0-128)",
    "scrub_server_logs": "scrub the framework's and server's own error loggers "
    "(`django.request`, `uvicorn.error`, `gunicorn.error`, ...) too ([redaction](redaction.md))",
    "forwarded_warning": "report forwarding headers from untrusted peers",
    "logger_provider": "the OpenTelemetry LoggerProvider to emit through; default: "
    "the app's global one when set, else seclog's own",
    "tracer_provider": "the TracerProvider for span events and seclog's own spans",
    "meter_provider": "the MeterProvider for the `security.events` counter",
    "login_routes": "(ASGI) extra login route paths or patterns read for failed logins",
    "login_username_field": "(ASGI) the form or JSON field holding the user name",
    "credential_models": "(Django) `app_label.ModelName` models whose str() is a secret",
}

# Settings only code can pass (objects and callables): no environment variable names them.
CODE_ONLY = frozenset({"redact_veto", "logger_provider", "tracer_provider", "meter_provider"})

COMMON_ATTRIBUTES = (
    "`security.event`, `security.outcome`, `security.level`, `security.reason` (when known); "
    "from the request: `client.address`, `user.name`, `user.id`, `user_agent.original`, "
    "`http.request.method`, `http.route`, `url.path`, `http.response.status_code`, "
    "`http.request.id`; integrity: `seclog.stream_id`, `seclog.sequence` "
    "(+ `seclog.mac`, `seclog.mac_v`, `seclog.key_id` with a key)"
)
ALERT_ATTRIBUTES = (
    "`security.key`, `security.key_field`, `security.count`, `security.window_seconds`, "
    "`security.threshold`, `security.reason`; the rule, under the OpenTelemetry names "
    "`security_rule.name`, `security_rule.uuid`, `security_rule.category`, "
    "`security_rule.description`, `security_rule.reference`, `security_rule.ruleset.name`, "
    "`security_rule.version` (and the older `security.rule`)"
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def events_page() -> str:
    """The events reference, from the vocabulary table."""
    lines = [
        "# Events",
        "",
        "<!-- generated by docs/gen_reference.py from seclog_core.VOCABULARY: do not edit -->",
        "",
        "Every event is an OTLP LogRecord whose `event_name` is `security.<type>`. Severity is",
        "the OpenTelemetry severity (number and text); level is the OWASP Logging Vocabulary's.",
        "",
        f"Every event carries: {COMMON_ATTRIBUTES}.",
        "",
        f"An event a detector emits (the `emitted by` column names it) also carries: "
        f"{ALERT_ATTRIBUTES}.",
        "",
    ]
    groups: dict[str, list[str]] = {}
    for event in VOCABULARY.values():
        if event.name in BUILT_IN_EVENT_TYPES:  # not types an app (or a test) registered
            groups.setdefault(event.category, []).append(event.name)
    for category in sorted(groups):
        lines += [
            f"## {category}",
            "",
            "| event | severity | level | outcome | when | emitted by |",
            "|---|---|---|---|---|---|",
        ]
        for name in sorted(groups[category]):
            event = VOCABULARY[name]
            source = EMITTED_BY.get(name, "your code: `seclog_core.emit(...)`")
            if event.is_alert:
                source = "a detector"
            lines.append(
                f"| `security.{name}` | {event.severity.text} | {event.level} | "
                f"{event.outcome} | {_cell(event.description)} | {_cell(source)} |"
            )
        lines.append("")
    lines += [
        "## Keyword arguments and attribute names",
        "",
        "The manual API (`seclog_core.emit`, `login_failed`, ...) maps keywords to attribute",
        "names with this table (`seclog_core.FIELD_NAMES`); other keywords go under",
        "`security.*`, and `attributes={...}` passes exact names.",
        "",
        "| keyword | attribute |",
        "|---|---|",
    ]
    lines += [f"| `{key}` | `{value}` |" for key, value in FIELD_NAMES.items()]
    lines.append("")
    return "\n".join(lines)


def _default(field: dataclasses.Field[object]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:  # pragma: no cover - every setting has a default
        return ""
    if value is None or value in ((), {}):
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def settings_page() -> str:
    """The settings reference, from the Settings dataclass."""
    lines = [
        "# Settings",
        "",
        "<!-- generated by docs/gen_reference.py from seclog_core.config.Settings: do not edit -->",
        "",
        "seclog's own settings come from keyword arguments (`configure(...)`, `SecLog(app, ...)`,",
        "`SecurityLoggingMiddleware(app, ...)`), which win over the framework's settings",
        "(Django's `SECLOG` dict, Flask's `app.config[\"SECLOG_*\"]`), which win over `SECLOG_*`",
        "environment variables. A bad value stops the app at start-up with",
        "`seclog_core.ConfigError` naming the key and the expected form. Lists are",
        "comma-separated in the environment. Export itself is configured by the standard",
        "`OTEL_*` variables (see [the collector side](collector.md)).",
        "",
        "| setting | environment | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for field in dataclasses.fields(Settings):
        kind = str(field.type).replace("|", "or")
        meaning = SETTING_HELP.get(field.name, "(not described yet)")
        env = "(code only)" if field.name in CODE_ONLY else f"`SECLOG_{field.name.upper()}`"
        lines.append(
            f"| `{field.name}` | {env} | `{kind}` | {_default(field)} | {_cell(meaning)} |"
        )
    lines.append("")
    return "\n".join(lines)


PAGES = {"events.md": events_page, "settings.md": settings_page}


def main(argv: list[str]) -> int:
    """Write the pages; with ``--check`` only report which are stale."""
    stale = [name for name, build in PAGES.items() if _read(name) != build()]
    if "--check" in argv:
        for name in stale:
            print(f"docs/{name} is out of date: run python docs/gen_reference.py")
        return 1 if stale else 0
    for name in stale:
        (DOCS / name).write_text(PAGES[name](), encoding="utf-8")
        print(f"wrote docs/{name}")
    return 0


def _read(name: str) -> str:
    path = DOCS / name
    return path.read_text(encoding="utf-8") if path.exists() else ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
