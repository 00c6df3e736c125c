"""A FastAPI app with no seclog line. Served by ``python fastapi_plain.py PORT``."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/")
async def home() -> str:
    return "ok"


@app.post("/login")
async def login() -> None:
    raise HTTPException(401, "wrong credentials")


@app.get("/admin")
async def admin() -> None:
    raise HTTPException(403, "admins only")


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
