"""Connection strings carry credentials: postgres://user:secret@host/db."""

import logging
import os

from django.conf import settings

logger = logging.getLogger(__name__)
DATABASE_URL = os.environ["DATABASE_URL"]
SQLALCHEMY_DATABASE_URI = DATABASE_URL


def connect(redis_url, broker_url, dsn, db_host, callback_url, health_check_url, url_path):
    logger.info("connecting to %s", DATABASE_URL)  # expect: SL001
    logger.info("connecting to %s", settings.DATABASE_URL)  # expect: SL001
    logger.info("database %s", os.environ["DATABASE_URL"])  # expect: SL001
    logger.info("database %s", os.getenv("DATABASE_URL"))  # expect: SL001
    logger.info("engine %s", SQLALCHEMY_DATABASE_URI)  # expect: SL001
    logger.info("redis at %s", redis_url)  # expect: SL001
    logger.info("broker %s", broker_url)  # expect: SL001
    logger.info("dsn %s", dsn)  # expect: SL001
    logger.info("db", extra={"database_url": DATABASE_URL})  # expect: SL002
    logger.info("database host %s", db_host)
    logger.info("callback %s", callback_url)
    logger.info("health at %s", health_check_url)
    logger.info("path %s", url_path)
    logger.info("database name %s", settings.DATABASES["default"]["NAME"])
    logger.info("database url configured: %s", bool(DATABASE_URL))
