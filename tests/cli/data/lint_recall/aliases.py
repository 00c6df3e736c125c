"""Loggers under names that do not say "log": followed through assignments."""

import logging

import structlog
from celery.utils.log import get_task_logger
from flask import current_app
from loguru import logger as lg

audit = structlog.get_logger("audit")
security = structlog.get_logger().bind(component="auth")
L = logging.getLogger(__name__)
tasks = get_task_logger(__name__)
events = audit


class Gateway:
    def __init__(self):
        self.log = logging.getLogger("gateway")
        self.trail = structlog.get_logger("trail")
        self.client = object()

    def charge(self, card_number, api_key, amount):
        self.log.info("charging %s", card_number)  # expect: SL001
        self.trail.info("charge", api_key=api_key)  # expect: SL002
        self.trail.info("charge", amount=amount, card_last4=self.card.last4)
        self.client.info(api_key)


def login(username, password, token):
    audit.info("login", username=username, password=password)  # expect: SL002
    security.warning("login failed", user=username, token=token)  # expect: SL002
    L.debug("login for %s with %s", username, password)  # expect: SL001
    tasks.info("token %s issued", token)  # expect: SL001
    events.info("login", secret=token)  # expect: SL002
    lg.info("user {} password {}", username, password)  # expect: SL001
    lg.opt(lazy=True).debug("token {}", token)  # expect: SL001
    lg.success("password accepted for {}", username)
    current_app.logger.info("reset with %s", token)  # expect: SL001
    audit.info("login", username=username, password_length=len(password))
    audit.info("token refreshed")


def not_loggers(password, token):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    stats = {"count": 1}
    stats.update(token=1)
    report = object()
    report.info(password)
