"""Flask apps for `seclog check`: a factory with seclog, a module-level app without it."""

from __future__ import annotations

from flask import Flask

from seclog_flask import SecLog


def create_app() -> Flask:
    app = Flask("good")
    app.config["SECLOG_TRUSTED_PROXY_COUNT"] = 1
    SecLog(app)
    return app


bare = Flask("bare")
bare.debug = True
