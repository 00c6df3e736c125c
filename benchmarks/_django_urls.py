"""The Django views the request benchmark calls: a page, a 403 and a failing login."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def login(request: HttpRequest) -> HttpResponse:
    # Django's real authentication: backends, the hasher, the user_login_failed signal.
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponse("Please enter a correct username and password.", status=200)
    return HttpResponse("welcome")


urlpatterns = [
    path("ok/", ok),
    path("forbidden/", forbidden),
    path("login/", login),
]
