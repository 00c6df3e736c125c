"""What must stay quiet: derived values, metadata names, constants."""

import logging

import structlog

logger = logging.getLogger(__name__)
log = structlog.get_logger()


def refresh(token, card, password, api_key, user):
    logger.info("token expires at %s", token.expires_at)
    logger.info("card ending %s", card.last4)
    logger.info("password length %d", len(password))
    logger.info("has password: %s", password is not None)
    logger.info("api key id %s", api_key.id)
    logger.info("token refreshed")
    log.info("password changed", user_id=user.id)
    log.info("token_type", token_type="bearer")
    logger.info("masked %s", mask(api_key))
    logger.info("token %s", token.jti)
    logger.info("user %s", user.username)
