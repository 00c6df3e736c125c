"""Code that must not be flagged: derived values, metadata, unrelated calls."""

import logging
import math

logger = logging.getLogger(__name__)
log = logging.getLogger("app")


class Tokenizer:
    def run(self, password_policy, password_changed_at, token_type, api_key_id, card_last4):
        logger.info("password policy %s", password_policy)
        logger.info("password changed at %s", password_changed_at)
        logger.info("token type %s; key id %s", token_type, api_key_id)
        logger.info("card ending %s", card_last4)
        logger.info("pin_memory=%s", self.pin_memory)
        logger.info("has password: %s", self.password is not None)
        logger.info("password matches: %s", self.check_password(self.password))
        logger.info("user %s changed their password", self.user.username)
        logger.info("%s secrets loaded from %s", len(self.secrets), self.secrets_path)
        logger.info("session started for %s", self.user.id)
        logger.info("installing requirement %s", self.req)
        value = math.log(self.password_entropy)
        self.log(self.password)
        print("password is", self.password)
        logger.warning("Database connection pool exhausted after %d retries", 3)
        logger.error("Order %s could not be shipped", self.order_id)
        return value

    def log(self, message):
        return message
