"""seclog for Flask: ``SecLog(app)`` logs every security event of the app.

::

    from seclog_flask import SecLog

    SecLog(app)                      # or, in a factory: seclog = SecLog(); seclog.init_app(app)

Responses 401/403/429/5xx and unhandled exceptions, Flask-Login,
Flask-Security-Too, Flask-WTF CSRF and Flask-Limiter (each when installed)
become security events, enriched with the request's context. Failed logins
in a plain Flask app have no framework signal: call
``seclog_core.login_failed(username=...)`` where the password check fails.
"""

from __future__ import annotations

from ._state import SecLogState, get_state
from .extension import FLASK_ONLY_SETTINGS, SecLog
from .hooks import current_context

__all__ = ["FLASK_ONLY_SETTINGS", "SecLog", "SecLogState", "current_context", "get_state"]
