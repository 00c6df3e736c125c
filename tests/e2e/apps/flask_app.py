"""A Flask app as a user wires it: SecLog(app); settings come from SECLOG_* variables."""

from __future__ import annotations

from flask import Flask, abort

from seclog_flask import SecLog

app = Flask(__name__)
SecLog(app)


@app.get("/")
def index() -> str:
    return "ok"


@app.get("/forbidden/<case>")
def forbidden(case: str) -> str:
    abort(403)
