"""Example: a Flask-Login app with seclog. Run ``python example_projects/flask_app/app.py``.

Log in as ``alice`` / ``wonderland`` (admin) or ``bob`` / ``builder``; then try
``/admin`` as bob (403), ``/boom`` (500 with a secret in the exception that
never leaves the process), a wrong password (``authn_login_fail``), ``/logout``.
Under gunicorn: ``gunicorn 'example_projects.flask_app.app:create_app()'``; behind
nginx on the same host add ``SECLOG_TRUSTED_PROXIES=127.0.0.1`` (``unix`` for a
unix socket) so the client, not nginx, is ``client.address`` (docs/deployment.md).
Point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at a collector, or read JSON lines on stderr.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, abort, redirect, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.security import check_password_hash, generate_password_hash

import seclog_core
from seclog_flask import SecLog

seclog = SecLog()
login_manager = LoginManager()


class User(UserMixin):
    def __init__(self, user_id: str, username: str, password: str, admin: bool) -> None:
        self.id = user_id
        self.username = username
        self.password_hash = generate_password_hash(password)
        self.admin = admin


USERS = {
    user.username: user
    for user in (
        User("1", "alice", "wonderland", admin=True),
        User("2", "bob", "builder", admin=False),
    )
}


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return next((user for user in USERS.values() if user.id == user_id), None)


LOGIN_FORM = """<!doctype html><title>Log in</title>
<form method="post">
  <label>User <input name="username"></label>
  <label>Password <input name="password" type="password"></label>
  <button>Log in</button>
</form>"""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY", "dev-only-not-secret")
    app.config.update(config or {})
    login_manager.init_app(app)
    seclog.init_app(app)

    @app.get("/")
    def index() -> str:
        who = current_user.username if current_user.is_authenticated else "anonymous"
        return f"Hello, {who}."

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return LOGIN_FORM
        username = request.form.get("username", "")
        user = USERS.get(username)
        if user is None or not check_password_hash(user.password_hash, request.form["password"]):
            # No framework signal exists for a failed password check: say it here.
            seclog_core.login_failed(username=username, reason="bad_credentials")
            return LOGIN_FORM, 401
        login_user(user, remember=request.form.get("remember") == "on")
        return redirect(url_for("profile"))

    @app.post("/logout")
    @login_required
    def logout() -> Any:
        logout_user()
        return redirect(url_for("index"))

    @app.get("/profile")
    @login_required
    def profile() -> str:
        return f"Profile of {current_user.username}."

    @app.get("/admin")
    @login_required
    def admin() -> str:
        if not current_user.admin:
            abort(403)
        return "Admin area."

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("payment backend refused api_key=sk_live_51HxExampleSecret00")

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
