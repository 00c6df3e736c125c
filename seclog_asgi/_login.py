"""Login routes: found in the app's routes or named in settings, their outcome reported.

A FastAPI route taking ``username`` and ``password`` as form fields (the OAuth2
password flow: ``OAuth2PasswordRequestForm``, fastapi-users' login) or serving an
``OAuth2PasswordBearer(tokenUrl=...)`` is a login route; so is every path the
``login_routes`` setting names (``/auth/login``, ``/api/{tenant}/login``,
``/auth/*``). For a POST to one, the request body is copied while the app reads it
(at most 64 KiB, never buffered ahead, never stored past the request), only the
user-name field is taken from it, and the status becomes ``authn_login_success``
(2xx, 3xx) or ``authn_login_fail`` (400, 401, 403), unless the app reported the
login itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from seclog_core import RequestContext
from seclog_core.adapters import Pipeline, report_failure

from ._types import Message, Receive, Scope
from ._username import MAX_BODY, username_from_body

__all__ = ["LOGIN_EVENTS", "LoginRoute", "LoginRoutes", "LoginWatch", "find_login_routes"]

# Events by which the app (or an integration) already reported this login.
LOGIN_EVENTS = frozenset(
    ("authn_login_success", "authn_login_fail", "authn_login_lock", "authn_login_fail_max")
)
_FAIL_REASONS = {400: "bad_credentials", 401: "bad_credentials", 403: "forbidden"}
_PARAM = re.compile(r"\\\{[^}]*\\\}")


@dataclass(frozen=True, slots=True)
class LoginRoute:
    """One login route: the path it answers and why seclog takes it for a login."""

    path: str
    source: str
    pattern: re.Pattern[str]
    username_field: str = "username"


def _compile(template: str) -> re.Pattern[str]:
    """``/a/{x}/b``, ``/a/{rest:path}``, ``/auth/*`` -> an anchored regular expression."""
    escaped = re.escape(template)
    escaped = re.sub(r"\\\{[^}:]*:path\\\}", ".*", escaped)
    escaped = _PARAM.sub("[^/]+", escaped)
    escaped = escaped.replace(r"\*", ".*")
    return re.compile(escaped + "/?" if not template.endswith("/") else escaped)


def _form_fields(dependant: Any, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """(field name, is a form field) for every body field of a FastAPI dependant tree."""
    for param in getattr(dependant, "body_params", None) or ():
        info = getattr(param, "field_info", None)
        is_form = any(cls.__name__ == "Form" for cls in type(info).__mro__)
        model_fields = getattr(getattr(info, "annotation", None), "model_fields", None)
        if isinstance(model_fields, dict):  # Annotated[Model, Form()]: the model's fields
            for name in model_fields:
                yield str(name), is_form
        yield str(getattr(param, "alias", None) or getattr(param, "name", "")), is_form
    if depth < 8:
        for sub in getattr(dependant, "dependencies", None) or ():
            yield from _form_fields(sub, depth + 1)


def _token_urls(dependant: Any, found: set[str], depth: int = 0) -> None:
    """Collect ``tokenUrl`` of every OAuth2 password-flow scheme a route depends on."""
    call = getattr(dependant, "call", None)
    flows = getattr(getattr(call, "model", None), "flows", None)
    url = getattr(getattr(flows, "password", None), "tokenUrl", None)
    if isinstance(url, str) and url:
        found.add("/" + urlsplit(url).path.lstrip("/"))
    if depth < 8:
        for sub in getattr(dependant, "dependencies", None) or ():
            _token_urls(sub, found, depth + 1)


def _walk(routes: Any, prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
    """(full path template, route) for every route, Mounts included."""
    for route in routes or ():
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI >= 0.16x keeps include_router() unflattened
            if depth < 8:
                inner = getattr(getattr(route, "include_context", None), "prefix", "") or ""
                yield from _walk(getattr(included, "routes", None), prefix + inner, depth + 1)
            continue
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        children = getattr(route, "routes", None)
        if children is not None and not hasattr(route, "endpoint"):
            if depth < 8:
                yield from _walk(children, prefix + path.rstrip("/"), depth + 1)
        else:
            yield prefix + path, route


def find_login_routes(
    app: Any, configured: tuple[str, ...], username_field: str = "username"
) -> list[LoginRoute]:
    """Every login route of ``app`` (duck-typed: no framework import) and of the setting.

    Configured routes read ``username_field``; detected ones the OAuth2 form's ``username``.
    """
    found: list[LoginRoute] = [
        LoginRoute(path, "login_routes setting", _compile(path), username_field)
        for path in configured
    ]
    token_urls: set[str] = set()
    posts: list[tuple[str, Any]] = []
    for path, route in _walk(getattr(app, "routes", None), "", 0):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        _token_urls(dependant, token_urls, 0)
        if "POST" in (getattr(route, "methods", None) or ()):
            posts.append((path, dependant))
    for path, dependant in posts:
        fields = dict(_form_fields(dependant))
        if fields.get("username") and fields.get("password"):
            found.append(
                LoginRoute(path, "username/password form (OAuth2 password flow)", _compile(path))
            )
        elif path in token_urls:
            found.append(LoginRoute(path, "tokenUrl of an OAuth2PasswordBearer", _compile(path)))
    return found


class LoginRoutes:
    """The login routes of one app, matched against a request's path."""

    __slots__ = ("app", "routes")

    def __init__(self, app: object, routes: list[LoginRoute]) -> None:
        self.app = app
        self.routes = routes

    def match(self, scope: Scope) -> LoginRoute | None:
        """The login route serving this request's path (the first configured one wins)."""
        path = scope.get("path")
        if not isinstance(path, str):
            return None
        root_path = scope.get("root_path")
        if root_path and path.startswith(root_path):
            inner = path[len(root_path) :]
            candidates = (path, inner) if inner.startswith("/") else (path,)
        else:
            candidates = (path,)
        for route in self.routes:
            for candidate in candidates:
                if route.pattern.fullmatch(candidate) is not None:
                    return route
        return None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if bytes(name).lower() == b"content-type":
            return bytes(value).decode("latin-1")
    return ""


class LoginWatch:
    """Copies a login request's body as the app reads it; reports the outcome."""

    __slots__ = ("chunks", "complete", "content_type", "field", "receive", "size", "truncated")

    def __init__(self, scope: Scope, receive: Receive, field: str) -> None:
        self.receive = receive
        self.field = field
        self.content_type = _content_type(scope)
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False
        self.truncated = False

    async def tee(self) -> Message:
        """The app's ``receive``: the message passes unchanged; a bounded copy stays here."""
        message = await self.receive()
        if not self.complete:
            try:
                self._keep(message)
            except Exception as exc:  # the app gets its message whatever happens here
                self.truncated = True
                report_failure("asgi.login_body", exc)
        return message

    def _keep(self, message: Message) -> None:
        if message.get("type") != "http.request":
            return
        body = message.get("body") or b""
        room = MAX_BODY - self.size
        if len(body) > room:
            self.truncated = True
        if room > 0 and body:
            kept = bytes(body[:room])
            self.chunks.append(kept)
            self.size += len(kept)
        self.complete = not message.get("more_body", False)

    def username(self) -> str | None:
        body = b"".join(self.chunks)
        self.chunks.clear()  # nothing of the body outlives the request
        return username_from_body(
            body, self.content_type, self.field, self.complete and not self.truncated
        )

    def report(self, ctx: RequestContext, status: int | None, pipeline: Pipeline) -> None:
        """Emit the login outcome for ``status`` unless the app already reported one."""
        name = self.username()
        if status is None or ctx.emitted & LOGIN_EVENTS:
            return
        attributes: dict[str, object] = {
            "user.name": name,
            "http.response.status_code": status,
            "security.auth_method": "password",
        }
        if status < 400:
            pipeline.emit("authn_login_success", attributes, context=ctx)
        elif status in _FAIL_REASONS:
            attributes["security.reason"] = _FAIL_REASONS[status]
            pipeline.emit("authn_login_fail", attributes, context=ctx)
