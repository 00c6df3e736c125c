"""Django-shaped views: what people really write in login and API code."""

import logging

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


def login_view(request):
    username = request.POST.get("username")
    password = request.POST.get("password")
    logger.debug("login attempt for %s with %s", username, password)  # expect: SL001
    logger.info("login form: %s", request.POST)  # expect: SL003
    logger.info("password field: %s", request.POST["password"])  # expect: SL001
    logger.info("login attempt for %s", request.POST.get("username"))
    user = authenticate(request, username=username, password=password)
    if user is None:
        logger.warning("failed login for %s from %s", username, request.META.get("REMOTE_ADDR"))
        logger.warning("failed login: %s", request.META)  # expect: SL003
        return HttpResponse(status=401)
    logger.info("user %s logged in", user.username)
    logger.info("user %s has password set: %s", user.pk, user.has_usable_password())
    return HttpResponse("ok")


def api_view(request):
    auth = request.headers.get("Authorization")
    logger.debug("auth header %s", request.headers.get("Authorization"))  # expect: SL001
    logger.debug("Authorization: " + request.META["HTTP_AUTHORIZATION"])  # expect: SL001
    logger.debug("headers: %r", request.headers)  # expect: SL003
    logger.debug("cookies %s", dict(request.COOKIES))  # expect: SL003
    logger.debug("raw body %s", request.body)  # expect: SL003
    logger.debug(f"request {request}")  # expect: SL003
    logger.info("user agent %s", request.headers.get("User-Agent"))
    logger.info("path %s method %s", request.path, request.method)
    logger.info("auth scheme length %d", len(auth or ""))
    logger.info("configured with key %s", settings.SECRET_KEY)  # expect: SL001
    logger.info("debug=%s", settings.DEBUG)
    logger.warning("Not Found: %s", request.path, extra={"status_code": 404, "request": request})
    return JsonResponse({})


class PasswordResetView:
    def form_valid(self, form):
        self.logger = logging.getLogger("accounts")
        email = form.cleaned_data["email"]
        token = self.make_token(email)
        password_reset_url = f"https://example.com/reset/{token}/"
        self.logger.info("sending reset link to %s", email)
        self.logger.info("reset url %s", password_reset_url)  # expect: SL001
        self.logger.info("reset token %s", token)  # expect: SL001
        self.logger.info("new password: {}".format(form.cleaned_data["new_password1"]))  # expect: SL001
        self.logger.info("password form valid: %s", form.is_valid())
        self.logger.info("token type %s, expires %s", self.token_type, self.token_expiry)
        self.logger.info("password length %d", len(form.cleaned_data["new_password1"]))
        self.logger.info("min password length is %d", self.min_password_length)
