"""The Flask extension: ``SecLog(app)`` or ``SecLog().init_app(app)`` in a factory.

Each app gets its own pipeline, built from its ``SECLOG_*`` config and the
extension's keyword options, and kept in ``app.extensions["seclog"]``; the
extension object itself holds no app, so one instance can serve many apps.
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from typing import Any

from flask import Flask

from seclog_core import ConfigError, Settings
from seclog_core.adapters import Pipeline, attach_server_log_scrubbing, build_pipeline, guarded

from . import hooks, integrations
from ._state import EXTENSION_KEY, SecLogState, get_state

__all__ = ["FLASK_ONLY_SETTINGS", "SecLog"]

# Settings only the Flask adapter reads (app.config only, never the environment).
# Every other SECLOG_* key goes to the core, which validates it.
FLASK_ONLY_SETTINGS: dict[str, object] = {
    "SECLOG_REQUEST_ID_HEADER": "X-Request-ID",
    "SECLOG_USER_NAME_ATTRIBUTES": ("username", "name", "email"),
}


class SecLog:
    """Log every security event of a Flask app, with the request's context.

    ``options`` are seclog settings (``trusted_proxies=...``, ``integrity_key=...``)
    and win over ``app.config["SECLOG_*"]``, which wins over ``SECLOG_*`` env vars.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self.options = dict(options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Build this app's pipeline and hook its requests; once per app."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"seclog is already initialized on app {app.name!r}: call SecLog(app) or "
                "init_app(app) once per app"
            )
        for key, default in FLASK_ONLY_SETTINGS.items():
            app.config.setdefault(key, default)
        framework = {
            key: value
            for key, value in app.config.items()
            if key.startswith("SECLOG_") and key not in FLASK_ONLY_SETTINGS
        }
        _refuse_misspelt_flask_settings(framework)
        # Validated now, so a bad setting fails at start-up with the key named.
        pipeline = build_pipeline(framework=framework, **self.options)
        with guarded("flask.start.server_logs"):  # app.logger & werkzeug print crashes scrubbed
            attach_server_log_scrubbing(pipeline, app.logger.name)
        names = app.config["SECLOG_USER_NAME_ATTRIBUTES"]
        state = SecLogState(
            pipeline=pipeline,
            request_id_header=str(app.config["SECLOG_REQUEST_ID_HEADER"]),
            user_name_attributes=(names,) if isinstance(names, str) else tuple(names),
            app=app,
            forwarding_key=hooks.forwarding_key(pipeline),
        )
        state.integrations = integrations.install(state)
        app.extensions[EXTENSION_KEY] = state
        hooks.install(app, state)

    def get_pipeline(self, app: Flask | None = None) -> Pipeline:
        """The pipeline of ``app`` (default: the current app)."""
        return get_state(app).pipeline


def _refuse_misspelt_flask_settings(framework: dict[str, Any]) -> None:
    """A typo of a Flask-only key (the core knows only its own) gets its "did you mean"."""
    core = {f"SECLOG_{spec.name.upper()}" for spec in fields(Settings)}
    for key in framework:
        if key.upper() in core:
            continue
        close = difflib.get_close_matches(key.upper(), FLASK_ONLY_SETTINGS, n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"unknown seclog setting {key[:64]!r} in app.config (did you mean {close[0]!r}?)"
            )
