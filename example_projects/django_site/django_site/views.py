"""A home page, a staff-only page and a view that fails."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse


def home(request: HttpRequest) -> HttpResponse:
    who = request.user.get_username() if request.user.is_authenticated else "anonymous"
    return HttpResponse(
        f"<p>Hello {who}.</p><p><a href='/login/'>log in</a> (demo / demo-password-123), "
        "<a href='/staff/'>staff page</a>, <a href='/fail/'>a failing view</a>, "
        "<a href='/admin/'>admin</a> (admin / admin-password-123)</p>"
        "<form method='post' action='/logout/'>"
        f"<input type='hidden' name='csrfmiddlewaretoken' value='{_token(request)}'>"
        "<button>log out</button></form>"
    )


def _token(request: HttpRequest) -> str:
    from django.middleware.csrf import get_token

    return get_token(request)


@permission_required("auth.view_user", raise_exception=True)
def staff(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Staff only.")


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the reporting database is down (password=s3cr3t-in-a-message)")
