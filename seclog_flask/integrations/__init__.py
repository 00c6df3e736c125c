"""Optional integrations, each switched on only when its package is installed.

An integration imports its package inside :func:`install`, so a missing package
costs nothing; signal receivers are connected once per process and check at
fire time whether the sending app runs seclog.
"""

from __future__ import annotations

import importlib

from seclog_core.adapters import guarded

from .._state import SecLogState

__all__ = ["INTEGRATIONS", "install"]

# In the order they are tried; each module has ``install(state) -> bool``.
INTEGRATIONS = ("flask_login", "flask_security", "flask_wtf", "flask_limiter")


def install(state: SecLogState) -> tuple[str, ...]:
    """Install every integration whose package is importable; return their names."""
    active: list[str] = []
    for name in INTEGRATIONS:
        with guarded(f"flask.integration.{name}"):
            module = importlib.import_module(f"{__name__}.{name}")
            if module.install(state):
                active.append(name)
    return tuple(active)
