"""The ASGI callables' shapes: Starlette's spelling inside, ``Any`` at the boundary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
# Starlette types scopes as MutableMapping, asgiref and Quart as TypedDicts; an app of
# either kind must be wrappable, and the wrapped result usable as either kind.
ASGIApp: TypeAlias = Callable[[Any, Any, Any], Awaitable[None]]
