"""structlog-style keyword fields and stdlib extra= dictionaries."""

import logging

import structlog

log = structlog.get_logger()
logger = logging.getLogger("payments")


def authenticate(username, password, api_token, session_id, remember):
    log.info("login_attempt", username=username, password=password)  # expect: SL002
    log.info("login_attempt", username=username, password_length=len(password))
    log.info("login_attempt", user=username, creds=api_token)  # expect: SL002
    log.info("login_attempt", user=username, token=api_token)  # expect: SL002
    log.info("login_attempt", user=username, password="***")
    log.info("session_started", session_id=session_id)  # expect: SL002
    log.bind(api_key=api_token).info("called")  # expect: SL002
    structlog.get_logger().info("remember_me", remember=remember, username=username)
    logger.info("login", extra={"username": username, "password": password})  # expect: SL002
    logger.info("login", extra={"user": username, "auth": api_token})  # expect: SL002
    logger.info("login", extra=dict(user=username, secret=api_token))  # expect: SL002
    logger.info("login", extra={"headers": dict(request.headers)})  # expect: SL003
    logger.info("token refreshed")
    logger.info("token refreshed for %s", username)
    logger.info("user %s", username)
    logger.info("token count %d, is_token_valid=%s", token_count, is_token_valid)
    logger.info("secret rotated: %s", secret_name)
    logger.info("tokens consumed: %d", num_tokens)
    logger.log(logging.INFO, "key for %s is %s", username, api_token)  # expect: SL001
