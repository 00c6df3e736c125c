# Example: Logging sensitive user data or insufficient detail
import logging

logger = logging.getLogger(__name__)

def process_user_request(user_id, password, credit_card_number):
    # BAD: Logging sensitive data directly
    logger.info(f"User {user_id} requested with password {password} and CC {credit_card_number}")  # expect: SL001 SL001
    # BAD: Logging only generic messages without context
    logger.error("An error occurred during processing")  # expect: SL004
