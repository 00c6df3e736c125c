"""Starlette's TestClient, imported quietly (Starlette 1.x asks for httpx2 over httpx)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # StarletteDeprecationWarning is a UserWarning; older Starlette lines do not warn.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

__all__ = ["TestClient"]
