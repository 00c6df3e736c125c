"""Django and WTForms data logged whole, or field by field."""

import logging

logger = logging.getLogger(__name__)


def signup(request, form):
    if form.is_valid():
        logger.info("signup %s", form.cleaned_data)  # expect: SL003
        logger.info("signup", extra={"data": form.cleaned_data})  # expect: SL003
        logger.info("signup for %s", form.cleaned_data["email"])
        logger.info("chose %s", form.cleaned_data["password"])  # expect: SL001
        logger.info("form errors: %s", form.errors)
        logger.info("keys %s", form.cleaned_data.keys())
    logger.warning("invalid signup: %s", request.POST)  # expect: SL003
