"""Inline suppressions silence what the author has reviewed."""

import logging

logger = logging.getLogger(__name__)


def f(password, token, request):
    logger.info("pw %s", password)  # seclog: ignore[SL001]
    logger.info("pw %s", password)  # seclog: ignore
    logger.info("pw %s", password)  # seclog: ignore[SL003]  # expect: SL001
    logger.info(  # seclog: ignore[SL001, SL003]
        "pw %s headers %s",
        password,
        request.headers,
    )
    logger.info("token %s", token)  # expect: SL001
