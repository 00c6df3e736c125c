"""A Flask app with no seclog line. Served by ``python flask_plain.py PORT``."""

from __future__ import annotations

import sys

from flask import Flask, abort

app = Flask(__name__)


@app.get("/")
def home() -> str:
    return "ok"


@app.post("/login")
def login() -> tuple[str, int]:
    return "wrong credentials", 401


@app.get("/admin")
def admin() -> str:
    abort(403)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
