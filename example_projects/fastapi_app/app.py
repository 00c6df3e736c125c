"""A small FastAPI app with seclog: two login routes, a protected route, an admin route, a crash.

Run it with ``python example_projects/fastapi_app/app.py`` (uvicorn on 127.0.0.1:8000;
``--port N`` to change) or ``uvicorn app:app --no-proxy-headers`` from this folder. Point
``OTEL_EXPORTER_OTLP_ENDPOINT`` at a collector, or read the JSON lines on stderr.

``POST /token`` is the OAuth2 password flow: seclog reports its logins with no code in
the route. ``POST /login`` takes JSON and reports through the manual API.

Try: ``curl -X POST localhost:8000/token -d username=alice -d password=wrong``,
``curl -X POST localhost:8000/login -H 'content-type: application/json'
-d '{"username": "alice", "password": "wrong"}'``, then ``curl localhost:8000/me``,
``curl localhost:8000/admin -H 'Authorization: Bearer token-alice'``, ``curl localhost:8000/boom``.
"""

from __future__ import annotations

import argparse
import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware

# Demo accounts: name -> (password, is_admin). A real app checks hashed passwords.
USERS = {"alice": ("wonderland", False), "root": ("correct horse", True)}
TOKENS = {f"token-{name}": name for name in USERS}

app = FastAPI(title="seclog FastAPI example")
app.add_middleware(SecurityLoggingMiddleware)
oauth2 = OAuth2PasswordBearer(tokenUrl="token")


class Credentials(BaseModel):
    username: str
    password: str


def _password_ok(username: str, password: str) -> bool:
    account = USERS.get(username)
    return account is not None and hmac.compare_digest(account[0], password)


@app.post("/token")
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
    # No seclog call: the middleware recognises the OAuth2 password form and reports
    # authn_login_success / authn_login_fail with the user name from the form.
    if not _password_ok(form.username, form.password):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect username or password",
            {"WWW-Authenticate": "Bearer"},
        )
    return {"access_token": f"token-{form.username}", "token_type": "bearer"}


@app.post("/login")
async def login(credentials: Credentials) -> dict[str, str]:
    if not _password_ok(credentials.username, credentials.password):
        seclog.login_failed(username=credentials.username, reason="bad_credentials")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Incorrect username or password")
    seclog.login_succeeded(username=credentials.username)
    return {"access_token": f"token-{credentials.username}", "token_type": "bearer"}


async def current_user(token: Annotated[str, Depends(oauth2)]) -> str:
    name = TOKENS.get(token)
    if name is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Invalid token", {"WWW-Authenticate": "Bearer"}
        )
    return name


@app.get("/me")
async def me(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
    return {"username": user}


@app.get("/admin")
async def admin(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
    if not USERS[user][1]:
        seclog.access_denied(resource="/admin", username=user, reason="not_admin")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Administrators only")
    return {"admin": user}


@app.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("the database went away")


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # seclog resolves the client through its own trusted proxies (SECLOG_TRUSTED_PROXIES);
    # uvicorn's proxy-header rewriting would replace the socket peer before seclog sees it.
    uvicorn.run(app, host="127.0.0.1", port=args.port, proxy_headers=False)


if __name__ == "__main__":
    main()
