"""Zero-code seclog: an OpenTelemetry instrumentor for ``opentelemetry-instrument``.

With seclog installed, ``opentelemetry-instrument python app.py`` (or a distro) loads this
instrumentor through the ``opentelemetry_instrumentor`` entry point named ``seclog`` and
turns on security logging for every Django, Flask and Starlette/FastAPI app the process
builds, with no seclog line in the app; events go through the providers the
auto-instrumentation set up. ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=seclog`` turns it off.

Like the contrib instrumentations, it hooks each framework at one documented point, and
only when that framework is installed:

- Django: before ``django.setup()`` runs, ``seclog_django`` joins ``INSTALLED_APPS`` and
  its middleware joins ``MIDDLEWARE`` right after ``AuthenticationMiddleware`` (the
  contrib Django instrumentor edits ``MIDDLEWARE`` the same way).
- Flask: the first request of an app that has no ``SecLog`` yet initializes one
  (``Flask.wsgi_app`` is wrapped; an app that calls ``SecLog(app)`` itself is left alone).
- Starlette and FastAPI: ``build_middleware_stack`` puts ``SecurityLoggingMiddleware``
  first among the app's middleware, as ``app.add_middleware`` would; an app that added it
  itself, or that an outer seclog middleware already wraps, is left alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Collection
from types import ModuleType
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

__all__ = ["SecLogInstrumentor"]

_log = logging.getLogger("seclog")
# framework -> the module hooking it, imported only when the framework is installed.
_HOOKS = {"django": "_django", "flask": "_flask", "starlette": "_starlette"}


def _hook(framework: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{_HOOKS[framework]}")


class SecLogInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Turns on seclog for the Django, Flask and Starlette/FastAPI apps of this process."""

    def instrumentation_dependencies(self) -> Collection[str]:
        # Each framework is optional: hooks are installed for those present, so no
        # dependency may keep the instrumentor from loading.
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        self._installed = []
        for name in _HOOKS:
            if importlib.util.find_spec(name) is None:
                continue
            _hook(name).install()
            self._installed.append(name)
        _log.debug("seclog instrumentation: %s", ", ".join(self._installed) or "no framework")

    def _uninstrument(self, **kwargs: Any) -> None:
        for name in getattr(self, "_installed", []):
            _hook(name).uninstall()
        self._installed = []
