"""The Flask scenario app: Flask-Login sessions, Flask-WTF CSRF, and ``SecLog(app)``.

Serve with ``gunicorn tests.hostile.apps.flask_app:app``. A failed login is
reported through the manual API, as Flask-Login has no signal for it.
"""

from __future__ import annotations

from flask import Flask, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

import seclog_core as seclog
from seclog_flask import SecLog

from . import PASSWORD, USERNAME, boom_message


class User(UserMixin):
    def __init__(self, user_id: str, username: str, is_staff: bool = False) -> None:
        self.id = user_id
        self.username = username
        self.is_staff = is_staff


USERS = {"1": User("1", USERNAME)}

app = Flask(__name__)
app.config.update(SECRET_KEY="hostile-suite-not-a-secret-key-0123456789abcdef")
csrf = CSRFProtect(app)
login_manager = LoginManager(app)
SecLog(app)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return USERS.get(user_id)


@app.get("/")
def index() -> str:
    return "ok"


@app.post("/login")
@csrf.exempt
def login() -> tuple[str, int]:
    username = request.form.get("username", "")
    user = USERS["1"] if username == USERNAME else None
    if user is None or request.form.get("password", "") != PASSWORD:
        seclog.login_failed(username=username, reason="bad_credentials")
        return "bad credentials", 401
    login_user(user)
    return "welcome", 200


@app.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout() -> str:
    logout_user()
    return "bye"


@app.get("/private")
def private() -> tuple[str, int]:
    if not current_user.is_authenticated:
        return "login required", 401
    return "private", 200


@app.get("/admin")
def admin() -> tuple[str, int]:
    if not getattr(current_user, "is_staff", False):
        return "forbidden", 403
    return "admin", 200


@app.get("/limited")
def limited() -> tuple[str, int]:
    return "slow down", 429


@app.post("/csrf-form")
def csrf_form() -> str:
    return "form accepted"


@app.get("/report")
def report() -> tuple[str, int]:
    seclog.emit(
        "input_validation_fail",
        attributes={"request.headers": request.headers, "header.list": [*request.headers.items()]},
    )
    return "rejected", 400


@app.get("/reset/<token>")
def reset(token: str) -> tuple[str, int]:
    return "reset link expired", 401


@app.route("/boom", methods=["GET", "POST"])
@csrf.exempt
def boom() -> str:
    body = request.get_data(as_text=True)
    raise RuntimeError(boom_message(request.query_string.decode("latin-1"), body))
