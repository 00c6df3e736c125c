"""URLs of the Django scenario site."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("login", views.login_view),
    path("logout", views.logout_view),
    path("private", views.private),
    path("admin", views.admin),
    path("limited", views.limited),
    path("csrf-form", views.csrf_form),
    path("boom", views.boom),
    path("reset/<str:token>", views.reset),
    path("report", views.report),
]
