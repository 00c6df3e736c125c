"""Starlette and FastAPI: ``SecurityLoggingMiddleware`` first among every app's middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

import seclog_core
from seclog_asgi import SecurityLoggingMiddleware

# class -> its own build_middleware_stack before patching (FastAPI overrides Starlette's).
_originals: dict[type[Starlette], Callable[[Any], Any]] = {}


class InstrumentedSecurityLoggingMiddleware(SecurityLoggingMiddleware):
    """The middleware the instrumentor adds; it steps aside inside an outer seclog middleware."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if seclog_core.current_request_context() is not None:
            # An app wrapped as SecurityLoggingMiddleware(app) already logs this request.
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _with_seclog(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def build_middleware_stack(self: Starlette) -> Any:
        if not any(
            isinstance(entry.cls, type) and issubclass(entry.cls, SecurityLoggingMiddleware)
            for entry in self.user_middleware
        ):
            # Where app.add_middleware() would put it: inside ServerErrorMiddleware, so a
            # crash is seen as the exception and the 500 the server sends.
            self.user_middleware.insert(0, Middleware(InstrumentedSecurityLoggingMiddleware))
        return original(self)

    return build_middleware_stack


def _classes() -> list[type[Starlette]]:
    """Starlette and every class above it that builds the stack in its own method."""
    roots: list[type[Starlette]] = [Starlette]
    try:
        import fastapi
    except ImportError:
        pass
    else:
        # FastAPI overrides the method without calling Starlette's; its public name may be
        # a contrib subclass by now, so look along the class hierarchy.
        roots.append(fastapi.FastAPI)
    found: list[type[Starlette]] = []
    for root in roots:
        for cls in root.__mro__:
            if (
                isinstance(cls, type)
                and issubclass(cls, Starlette)
                and "build_middleware_stack" in cls.__dict__
                and cls not in found
            ):
                found.append(cls)
    return found


def install() -> None:
    # Patched on the classes (not by replacing starlette.applications.Starlette, as contrib
    # does) so apps of subclasses imported earlier are covered too.
    for cls in _classes():
        if cls not in _originals and "build_middleware_stack" in cls.__dict__:
            _originals[cls] = cls.__dict__["build_middleware_stack"]
            cls.build_middleware_stack = _with_seclog(_originals[cls])  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    for cls, original in _originals.items():
        cls.build_middleware_stack = original  # type: ignore[method-assign,assignment]
    _originals.clear()
