"""URLs of the test site."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("social/complete/", views.complete_github_login),
    path("login/", auth_views.LoginView.as_view()),
    path("logout/", auth_views.LogoutView.as_view()),
    path("password_change/", auth_views.PasswordChangeView.as_view(success_url="/done/")),
    path("staff/", views.staff),
    path("forbidden/", views.forbidden),
    path("unauthorized/", views.unauthorized),
    path("throttled/", views.throttled),
    path("boom/", views.boom),
    path("bad-gateway/", views.bad_gateway),
    path("form/", views.form),
    path("files/<path:name>", views.download),
    path("upload/", views.upload),
    path("me/", views.touch_user),
    path("async/login/", views.async_login),
    path("async/logout/", views.async_logout),
    path("async/denied/", views.async_denied),
    path("async/boom/", views.async_boom),
    path("api/basic/", views.BasicApi.as_view()),
    path("api/session/", views.SessionApi.as_view()),
]
