"""Views a site might have: a staff page, an API, a file download, a view that fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.contrib import auth
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils._os import safe_join
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

NEW_ASYNC_AUTH = django.VERSION >= (5, 0)  # alogin/aauthenticate/alogout arrived in 5.0


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home")


@permission_required("auth.view_user", raise_exception=True)
def staff(request: HttpRequest) -> HttpResponse:
    return HttpResponse("staff only")


def forbidden(request: HttpRequest) -> HttpResponse:
    return HttpResponseForbidden("no")


def unauthorized(request: HttpRequest) -> HttpResponse:
    return HttpResponse("who are you", status=401)


def throttled(request: HttpRequest) -> HttpResponse:
    return HttpResponse("slow down", status=429)


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("cannot reach db with password=hunter2")


def bad_gateway(request: HttpRequest) -> HttpResponse:
    return HttpResponse("upstream down", status=502)


def form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("saved")


def download(request: HttpRequest, name: str) -> HttpResponse:
    return HttpResponse(Path(safe_join("/srv/files", name)).name)


@csrf_exempt
def upload(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(len(request.POST)))


def touch_user(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.user))


async def async_login(request: HttpRequest) -> HttpResponse:
    creds = {"username": request.POST.get("username"), "password": request.POST.get("password")}
    if NEW_ASYNC_AUTH:
        user = await auth.aauthenticate(request, **creds)
        if user is not None:
            await auth.alogin(request, user)
    else:
        user = await sync_to_async(auth.authenticate)(request, **creds)
        if user is not None:
            await sync_to_async(auth.login)(request, user)
    return HttpResponse("ok" if user else "no", status=200 if user else 401)


async def async_logout(request: HttpRequest) -> HttpResponse:
    if NEW_ASYNC_AUTH:
        await auth.alogout(request)
    else:
        await sync_to_async(auth.logout)(request)
    return HttpResponse("bye")


async def async_denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("members only")


async def async_boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("token=abc123secret leaked")


class BasicApi(APIView):
    authentication_classes = (BasicAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class SessionApi(APIView):
    authentication_classes = (SessionAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request, *args: Any) -> Response:
        return Response({"ok": True})


def complete_github_login(request: HttpRequest) -> HttpResponse:
    """What allauth does when GitHub's OAuth callback returns: complete the social login.

    The provider's answer (uid, login) is given in the query; allauth's own code does the rest.
    """
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.helpers import complete_social_login

    provider = get_adapter().get_provider(request, "github")
    login = provider.sociallogin_from_response(
        request, {"id": int(request.GET["uid"]), "login": request.GET["login"]}
    )
    login.state = {"process": request.GET.get("process", "login")}
    response: HttpResponse = complete_social_login(request, login)
    return response
