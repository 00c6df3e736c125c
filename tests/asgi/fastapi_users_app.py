"""A real fastapi-users app (SQLAlchemy on aiosqlite, JWT bearer) for the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from seclog_asgi import SecurityLoggingMiddleware
from seclog_asgi.integrations.fastapi_users import (
    SecLogAuthenticationBackend,
    SecLogUserManagerMixin,
)

SECRET = "test-secret-of-the-jwt-strategy-0123456789"


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


class PlainManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET
    tokens: dict[str, str] = {}  # noqa: RUF012 - the test reads the tokens fastapi-users mails

    async def on_after_forgot_password(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        self.tokens["reset"] = token  # an override that does not call super()

    async def on_after_request_verify(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        self.tokens["verify"] = token
        await super().on_after_request_verify(user, token, request)


class ReportingManager(SecLogUserManagerMixin, PlainManager):
    pass


def build(database_url: str, *, integrated: bool) -> FastAPI:
    """The app of fastapi-users' documentation, with seclog's one line (and the mixin)."""
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    manager_class: Any = ReportingManager if integrated else PlainManager
    backend_class: Any = SecLogAuthenticationBackend if integrated else AuthenticationBackend

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            yield session

    async def get_user_db(session: AsyncSession = Depends(get_session)) -> Any:  # noqa: B008
        yield SQLAlchemyUserDatabase(session, User)

    async def get_user_manager(user_db: Any = Depends(get_user_db)) -> Any:  # noqa: B008
        yield manager_class(user_db)

    def get_strategy() -> JWTStrategy[User, uuid.UUID]:
        return JWTStrategy(secret=SECRET, lifetime_seconds=3600)

    backend = backend_class(
        name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"), get_strategy=get_strategy
    )
    users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(SecurityLoggingMiddleware)
    app.include_router(users.get_auth_router(backend), prefix="/auth/jwt")
    app.include_router(users.get_register_router(UserRead, UserCreate), prefix="/auth")
    app.include_router(users.get_reset_password_router(), prefix="/auth")
    app.include_router(users.get_verify_router(UserRead), prefix="/auth")
    app.include_router(users.get_users_router(UserRead, UserUpdate), prefix="/users")
    return app
