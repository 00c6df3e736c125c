# Example: Logging a failed login attempt with relevant context
import logging

logger = logging.getLogger(__name__)

def handle_failed_login(username, ip_address):
    logger.warning(
        "SECURITY_EVENT: Failed login attempt",
        extra={
            "event_type": "login_failure",
            "username": username,
            "ip_address": ip_address,
            "severity": "medium"
        }
    )
    # ... further actions like rate limiting ...
