"""Flask-shaped code: app.logger, current_app.logger, request proxies."""

import os
import sys

from flask import Flask, current_app, request

app = Flask(__name__)
STRIPE_API_KEY = os.environ["STRIPE_API_KEY"]


@app.post("/login")
def login():
    data = request.get_json()
    app.logger.info("login payload %s", request.get_json())  # expect: SL003
    app.logger.info("login payload %s", request.json)  # expect: SL003
    app.logger.info("form %s", request.form)  # expect: SL003
    app.logger.info("login for %s", data.get("email"))
    app.logger.info("login pw %s", data.get("password"))  # expect: SL001
    app.logger.info("login pw %s", data["password"])  # expect: SL001
    current_app.logger.warning("bad login %s / %s", data["email"], data["password"])  # expect: SL001
    current_app.logger.error(
        "payment failed for card %s cvv %s",
        data["card_number"],  # expect: SL001
        data["cvv"],  # expect: SL001
    )
    print(f"DEBUG stripe key {STRIPE_API_KEY}", file=sys.stderr)  # expect: SL001
    print(f"serving {request.path}")
    app.logger.info("using key %s", os.getenv("STRIPE_API_KEY"))  # expect: SL001
    app.logger.info("api key configured: %s", bool(STRIPE_API_KEY))
    app.logger.info("api key ending ...%s", STRIPE_API_KEY[-4:])  # expect: SL001
    app.logger.info("ssn on file for %s: %s", data["email"], data.get("ssn"))  # expect: SL001
    app.logger.info("pin ok=%s", data.get("pin") == "1234")
    app.logger.exception("Something went wrong")
    app.logger.error("Something went wrong")  # expect: SL004
    app.logger.error("Payment provider returned HTTP 502 for order checkout")
    return {"ok": True}
