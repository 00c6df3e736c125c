"""Starlette's TestClient, imported quietly (Starlette 1.x asks for httpx2 over httpx)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2; older lines import an alias that new anyio deprecates.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    warnings.filterwarnings("ignore", message=".*BlockingPortal alias is deprecated.*")
    from starlette.testclient import TestClient

__all__ = ["TestClient"]
