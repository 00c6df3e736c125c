"""A FastAPI app as a user wires it: add_middleware(SecurityLoggingMiddleware), defaults."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException

from seclog_asgi import SecurityLoggingMiddleware

app = FastAPI()
app.add_middleware(SecurityLoggingMiddleware)


@app.get("/")
def index() -> str:
    return "ok"


@app.get("/forbidden/{case}")
def forbidden(case: str) -> str:
    raise HTTPException(403, "no")
