"""A Flask login app for ``gunicorn -w 3``: each response names the worker that served it."""

from __future__ import annotations

import os
import time

from flask import Flask, request

import seclog_core as seclog
from seclog_flask import SecLog

app = Flask(__name__)
SecLog(app)


@app.get("/")
def index() -> str:
    time.sleep(0.05)  # held a while, so concurrent probes find every worker
    return str(os.getpid())


@app.get("/login")
def login() -> tuple[str, int]:
    user = request.args.get("user", "")
    if request.args.get("password") == "right":
        seclog.login_succeeded(username=user)
        return str(os.getpid()), 200
    time.sleep(0.05)  # checking a password takes a while: the next request meets another worker
    seclog.login_failed(username=user, reason="bad_credentials")
    return str(os.getpid()), 401
