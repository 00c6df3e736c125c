"""Flask: an app with no ``SecLog`` gets one on its first request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

_original: Callable[..., Iterable[bytes]] | None = None
_lock = threading.Lock()


def _wsgi_app(self: Flask, environ: Any, start_response: Any) -> Iterable[bytes]:
    assert _original is not None
    if "seclog" in self.extensions:
        return _original(self, environ, start_response)
    with _lock:
        if "seclog" not in self.extensions:
            from seclog_flask import SecLog

            SecLog(self)  # wraps self.wsgi_app; that wrapper calls back into this function
    # Through the instance attribute, so this first request is logged like every other.
    return self.wsgi_app(environ, start_response)


def install() -> None:
    # Flask.wsgi_app is the documented place for WSGI middleware; the contrib Flask
    # instrumentor hooks the same class (it replaces flask.Flask with a subclass).
    global _original
    if _original is None:
        _original = Flask.wsgi_app
        Flask.wsgi_app = _wsgi_app  # type: ignore[method-assign]


def uninstall() -> None:
    global _original
    if _original is not None:
        Flask.wsgi_app = _original  # type: ignore[method-assign]
        _original = None
