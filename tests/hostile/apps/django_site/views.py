"""The scenario routes, written the way a Django developer would."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

import seclog_core as seclog

from .. import boom_message


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csrf_exempt
def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request,
        username=request.POST.get("username", ""),
        password=request.POST.get("password", ""),
    )
    if user is None:
        return HttpResponse("bad credentials", status=401)
    login(request, user)
    return HttpResponse("welcome")


@csrf_exempt
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("bye")


def private(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse("login required", status=401)
    return HttpResponse("private")


def admin(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    return HttpResponse("admin")


def limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("slow down", status=429)


def csrf_form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("form accepted")


def report(request: HttpRequest) -> HttpResponse:
    seclog.emit(
        "input_validation_fail",
        attributes={"request.headers": request.headers, "header.list": [*request.headers.items()]},
    )
    return HttpResponse("rejected", status=400)


def reset(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse("reset link expired", status=401)


@csrf_exempt
def boom(request: HttpRequest) -> HttpResponse:
    body = request.body.decode("utf-8", "replace")
    raise RuntimeError(boom_message(request.META.get("QUERY_STRING", ""), body))
