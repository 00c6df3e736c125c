"""Fields bound to a logger are logged with every later record."""

import structlog
from structlog.contextvars import bind_contextvars

log = structlog.get_logger()


def handle(request, user, password, session_id, api_token):
    request_log = log.bind(user=user.username, session_id=session_id)  # expect: SL002
    request_log.info("request started")
    log.bind(password=password).info("created")  # expect: SL002
    bound = log.new(token=api_token)  # expect: SL002
    bound.info("called")
    bind_contextvars(api_token=api_token)  # expect: SL002
    structlog.contextvars.bind_contextvars(user_id=user.id, path=request.path)
    log.bind(user_id=user.id).info("ok")
    query = object()
    query.bind(password)
