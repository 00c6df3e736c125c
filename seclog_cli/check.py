"""``seclog check``: inspect a configured app's seclog setup without serving traffic.

``--django SETTINGS_MODULE``, ``--flask MODULE:APP_OR_FACTORY`` or ``--asgi
MODULE:APP`` loads the app, finds seclog's hooks, reads its settings and reports
what is live, where events go, and what would defeat logging (DEBUG on, a root
logger that drops WARN, seclog disabled). Exit code 1 on errors (and on
warnings with ``--strict``), 2 when the app cannot be loaded.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["CheckReport", "Item", "configure_parser", "inspect_target", "run"]

Level = Literal["ok", "info", "warning", "error"]


@dataclass(frozen=True)
class Item:
    """One line of the report."""

    level: Level
    topic: str
    message: str


@dataclass
class CheckReport:
    """What ``seclog check`` found about one app."""

    framework: str
    target: str
    items: list[Item] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    integrations: list[str] = field(default_factory=list)
    settings: Any = None  # seclog_core.config.Settings, when they could be read

    def add(self, level: Level, topic: str, message: str) -> None:
        self.items.append(Item(level, topic, message))

    def count(self, level: Level) -> int:
        return sum(1 for item in self.items if item.level == level)


class LoadError(Exception):
    """The app, settings module or factory could not be loaded."""


def _load_object(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise LoadError(f"expected MODULE:ATTRIBUTE, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise LoadError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise LoadError(f"{module_name} has no attribute {attr!r}") from None
    return target


def _safe_url(url: str) -> str:
    # Credentials in the userinfo (any scheme, '@' in the password) and secret query values.
    from seclog_core.url_scrubbing import scrub_url

    return scrub_url(url)


def _check_settings(report: CheckReport, settings: Any) -> None:
    """The framework-independent part: export, proxies, integrity, redaction, detectors."""
    from seclog_core.export import collector_configured, otlp_endpoint, otlp_protocol

    report.settings = settings
    if not settings.enabled:
        report.add("error", "settings", "seclog is disabled (enabled=False): nothing is logged")
    if collector_configured():
        endpoint = otlp_endpoint("logs")
        try:
            protocol = otlp_protocol("logs")
        except ValueError as exc:
            report.add("error", "export", str(exc))
        else:
            report.add("ok", "export", f"OTLP exporter to {_safe_url(endpoint or '')} ({protocol})")
            _probe(report, protocol)
        if settings.local_sink == "stderr":
            report.add("info", "export", "a copy of each event is also written to stderr")
    elif settings.local_sink == "none":
        report.add(
            "error",
            "export",
            "no collector configured and local_sink=none: security events go nowhere",
        )
    else:
        report.add(
            "warning",
            "export",
            "no collector configured: events are written to stderr as JSON lines; set "
            "OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector",
        )
    if settings.spool_dir:
        report.add("ok", "export", f"on-disk spool for collector outages: {settings.spool_dir}")
    if settings.trusted_proxies:
        report.add("ok", "proxies", f"trusted proxies: {', '.join(settings.trusted_proxies)}")
    elif settings.trusted_proxy_count:
        report.add("ok", "proxies", f"trusted proxy hops: {settings.trusted_proxy_count}")
    else:
        report.add(
            "info",
            "proxies",
            "no trusted proxies: the client address is the socket peer and forwarding "
            "headers are reported, not trusted (set trusted_proxies behind a proxy)",
        )
    if settings.integrity_key:
        report.add("ok", "integrity", f"HMAC on every record (key id {settings.integrity_key_id})")
    else:
        report.add(
            "warning",
            "integrity",
            "no integrity key: sequence numbers only; edits to exported records are not "
            "detectable (set SECLOG_INTEGRITY_KEY)",
        )
    extras = [*settings.redact_keys, *settings.redact_patterns]
    if extras:
        report.add("ok", "redaction", f"redaction extras: {', '.join(extras)}")
    else:
        report.add("info", "redaction", "built-in redaction rules only")
    if settings.pseudonymize_key:
        report.add("ok", "redaction", "pseudonymization key set")
    if not settings.detectors:
        report.add("warning", "detectors", "detectors are off (detectors=False): no alerts")
    elif settings.redis_url:
        report.add(
            "ok", "detectors", f"detectors on, state in Redis at {_safe_url(settings.redis_url)}"
        )
    elif settings.detector_state == "process":
        report.add(
            "warning",
            "detectors",
            "detectors keep state per process (detector_state=process): under a multi-worker "
            "server (gunicorn -w, uvicorn --workers) each worker counts alone, so thresholds "
            "are multiplied by the worker count; use detector_state=host (the default)",
        )
    else:
        from seclog_core.detect.sqlite_state import state_file

        where = state_file(settings.state_dir)
        report.add("ok", "detectors", f"detectors on, state shared by the host's workers: {where}")


def _import_hint(target: str) -> str:
    # The usual cause: run from the wrong directory, or a src/ layout not on the path.
    top = target.partition(":")[0].split(".")[0]
    return (
        f"hint: {top!r} is imported from the current directory ({os.getcwd()}) and PYTHONPATH: "
        f"run seclog check from the folder that contains {top}/ (for Django, where manage.py "
        "is), or set PYTHONPATH to it, e.g. PYTHONPATH=src seclog check ..."
    )


def _probe(report: CheckReport, protocol: str) -> None:
    """Would events arrive? An empty OTLP export (or a TCP connect for gRPC), 1.5 s at most."""
    from .collector_probe import probe_collector

    result = probe_collector(protocol, _safe_url)
    report.add(result.level, "collector", result.message)


def _check_logging(report: CheckReport) -> None:
    """stdlib logging settings that would hide seclog's own warnings or the app's."""
    root = logging.getLogger()
    if root.getEffectiveLevel() > logging.WARNING:
        report.add(
            "error",
            "logging",
            f"the root logger's level is {logging.getLevelName(root.getEffectiveLevel())}: "
            "WARNING records (seclog's own warnings among them) are dropped",
        )
    if logging.root.manager.disable >= logging.WARNING:
        report.add("error", "logging", "logging.disable() drops WARNING records")
    own = logging.getLogger("seclog")
    if own.disabled:
        report.add("error", "logging", "the 'seclog' logger is disabled")
    elif own.getEffectiveLevel() > logging.WARNING:
        report.add("error", "logging", "the 'seclog' logger's level drops its warnings")


def _check_django(report: CheckReport, settings_module: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    sys.path.insert(0, os.getcwd())
    try:
        import django
        from django.conf import settings

        django.setup()
    except ImportError as exc:
        raise LoadError(f"cannot load Django settings {settings_module}: {exc}") from None
    except Exception as exc:
        raise LoadError(f"Django setup failed: {type(exc).__name__}: {exc}") from None
    seclog_mw = "seclog_django.middleware.SecurityLoggingMiddleware"
    auth_mw = "django.contrib.auth.middleware.AuthenticationMiddleware"
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if seclog_mw not in middleware:
        report.add("error", "hooks", f"{seclog_mw} is not in MIDDLEWARE")
    elif auth_mw in middleware and middleware.index(seclog_mw) < middleware.index(auth_mw):
        report.add(
            "error",
            "hooks",
            "SecurityLoggingMiddleware comes before AuthenticationMiddleware: events "
            "would not know the user; move it after",
        )
    else:
        report.hooks.append("middleware")
        report.add("ok", "hooks", "SecurityLoggingMiddleware in MIDDLEWARE, after authentication")
    apps = list(settings.INSTALLED_APPS)
    if not any(a == "seclog_django" or a.startswith("seclog_django.") for a in apps):
        report.add("error", "hooks", "seclog_django is not in INSTALLED_APPS: no auth signals")
    else:
        report.hooks.append("app")
        connected = _django_signals()
        if connected:
            report.hooks.append("signals")
            report.add("ok", "hooks", f"signals connected: {', '.join(connected)}")
        else:
            report.add("error", "hooks", "seclog_django is installed but no signal is connected")
    if "django.middleware.csrf.CsrfViewMiddleware" in middleware:
        report.integrations.append("csrf")
    for app_name, integration in (("axes", "django-axes"), ("rest_framework", "rest_framework")):
        if app_name in apps:
            report.integrations.append(integration)
    if report.integrations:
        report.add("ok", "hooks", f"integrations found: {', '.join(report.integrations)}")
    if settings.DEBUG:
        report.add(
            "error",
            "settings",
            "DEBUG=True: error pages leak settings and stack traces; never in production",
        )
    from django.core.checks import run_checks

    for message in run_checks():
        if str(message.id or "").startswith("seclog."):
            level: Level = "error" if message.is_serious() else "warning"
            report.add(level, "django", f"{message.id}: {message.msg}")
    from seclog_core.config import ConfigError

    try:
        from seclog_django.settings import build_pipeline

        pipeline = build_pipeline()
    except ConfigError as exc:
        report.add("error", "settings", str(exc))
        return
    _check_settings(report, pipeline.settings)


def _django_signals() -> list[str]:
    from django.contrib.auth import signals

    found = []
    for name in ("user_logged_in", "user_logged_out", "user_login_failed"):
        signal = getattr(signals, name)
        receivers = signal._live_receivers(None)
        # Django 5+ returns (sync, async) receiver lists.
        flat = (
            [r for group in receivers for r in group] if isinstance(receivers, tuple) else receivers
        )
        if any(getattr(r, "__module__", "").startswith("seclog_django") for r in flat):
            found.append(name)
    return found


def _check_flask(report: CheckReport, spec: str) -> None:
    target = _load_object(spec)
    try:
        from flask import Flask
    except ImportError:
        raise LoadError("Flask is not installed: pip install 'seclog[flask]'") from None
    if not isinstance(target, Flask) and callable(target):
        try:
            target = target()
        except Exception as exc:
            raise LoadError(f"the factory {spec} failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(target, Flask):
        raise LoadError(f"{spec} is not a Flask app or a factory returning one")
    state = target.extensions.get("seclog")
    if state is None:
        report.add("error", "hooks", "SecLog is not initialized on the app (SecLog(app))")
    else:
        report.hooks.append("extension")
        funcs = [
            *target.before_request_funcs.get(None, []),
            *target.after_request_funcs.get(None, []),
            *target.teardown_request_funcs.get(None, []),
        ]
        names = sorted(
            {f.__name__ for f in funcs if getattr(f, "__module__", "").startswith("seclog_flask")}
        )
        report.hooks.extend(names)
        report.add("ok", "hooks", f"SecLog initialized; request hooks: {', '.join(names) or '-'}")
        report.integrations.extend(getattr(state, "integrations", ()))
        if report.integrations:
            report.add("ok", "hooks", f"integrations found: {', '.join(report.integrations)}")
    if target.debug:
        report.add(
            "error", "settings", "app.debug is on: the debugger must never run in production"
        )
    if state is not None:
        _check_settings(report, state.pipeline.settings)


def _find_asgi_middleware(app: Any) -> tuple[Any, dict[str, Any]] | None:
    """The SecurityLoggingMiddleware in an ASGI app's chain: (instance or None, options)."""
    from seclog_asgi import SecurityLoggingMiddleware

    seen: set[int] = set()
    node = app
    while node is not None and id(node) not in seen and len(seen) < 50:
        seen.add(id(node))
        if isinstance(node, SecurityLoggingMiddleware):
            return node, {}
        for entry in getattr(node, "user_middleware", None) or []:
            if getattr(entry, "cls", None) is SecurityLoggingMiddleware:
                return None, dict(getattr(entry, "kwargs", None) or {})
        node = getattr(node, "app", None) or getattr(node, "middleware_stack", None)
    return None


def _check_asgi(report: CheckReport, spec: str) -> None:
    target = _load_object(spec)
    try:
        found = _find_asgi_middleware(target)
    except ImportError:
        raise LoadError("seclog_asgi cannot be imported") from None
    if getattr(target, "debug", False) is True:
        report.add("error", "settings", "the app runs with debug=True: tracebacks reach clients")
    if found is None:
        report.add(
            "error", "hooks", "SecurityLoggingMiddleware is not in the app's middleware chain"
        )
        return
    instance, options = found
    report.hooks.append("middleware")
    report.add("ok", "hooks", "SecurityLoggingMiddleware wraps the app")
    from seclog_asgi import login_source_report

    for level, message in login_source_report(target):
        report.add(level, "logins", message)
    from seclog_core.config import ConfigError
    from seclog_core.pipeline import new_pipeline

    if instance is not None:
        _check_settings(report, instance.pipeline.settings)
        return
    try:
        _check_settings(report, new_pipeline(**options).settings)
    except ConfigError as exc:
        report.add("error", "settings", str(exc))


def inspect_target(framework: str, target: str) -> CheckReport:
    """Load the app and build the report; LoadError when it cannot be loaded."""
    report = CheckReport(framework, target)
    {"django": _check_django, "flask": _check_flask, "asgi": _check_asgi}[framework](report, target)
    _check_logging(report)
    return report


def configure_parser(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--django", metavar="SETTINGS_MODULE", help="a Django settings module")
    group.add_argument("--flask", metavar="MODULE:APP_OR_FACTORY", help="a Flask app or factory")
    group.add_argument("--asgi", metavar="MODULE:APP", help="an ASGI app")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument(
        "--inventory",
        action="store_true",
        help="write the logging inventory (OWASP ASVS 16.1.1): Markdown, or JSON with --format",
    )
    parser.add_argument("--output", "-o", help="write to this file instead of stdout")


_MARKS = {"ok": "ok", "info": "info", "warning": "WARNING", "error": "ERROR"}


def _text(report: CheckReport) -> str:
    lines = [f"seclog check: {report.framework} {report.target}"]
    for item in report.items:
        lines.append(f"  {_MARKS[item.level]:<8} {item.topic:<10} {item.message}")
    errors, warnings = report.count("error"), report.count("warning")
    lines.append(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return "\n".join(lines) + "\n"


def _json(report: CheckReport) -> str:
    document = {
        "framework": report.framework,
        "target": report.target,
        "errors": report.count("error"),
        "warnings": report.count("warning"),
        "hooks": report.hooks,
        "integrations": report.integrations,
        "items": [asdict(item) for item in report.items],
    }
    return json.dumps(document, indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    framework = next(name for name in ("django", "flask", "asgi") if getattr(args, name))
    target = getattr(args, framework)
    try:
        report = inspect_target(framework, target)
    except LoadError as exc:
        print(f"seclog check: {exc}", file=sys.stderr)
        if "No module named" in str(exc):
            print(_import_hint(target), file=sys.stderr)
        return 2
    if args.inventory:
        from .inventory import build_inventory, inventory_json, inventory_markdown

        inventory = build_inventory(report)
        text = inventory_json(inventory) if args.format == "json" else inventory_markdown(inventory)
    else:
        text = _json(report) if args.format == "json" else _text(report)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    failing = report.count("error") + (report.count("warning") if args.strict else 0)
    return 1 if failing else 0
