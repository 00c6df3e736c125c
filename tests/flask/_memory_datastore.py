"""A tiny in-memory Flask-Security datastore, so tests need no database."""

from __future__ import annotations

import uuid
from typing import Any

from flask_security import RoleMixin, UserMixin
from flask_security.datastore import Datastore, UserDatastore


class Role(RoleMixin):  # type: ignore[misc]
    def __init__(self, name: str, **kwargs: Any) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.permissions: list[str] = []
        self.__dict__.update(kwargs)


class User(UserMixin):  # type: ignore[misc]
    # Flask-Security inspects the model class for these columns.
    fs_uniquifier: str = ""
    email: str | None = None
    username: str | None = None
    password: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        self.id = uuid.uuid4().hex
        self.email: str | None = None
        self.username: str | None = None
        self.password: str | None = None
        self.active = True
        self.confirmed_at = None
        self.roles: list[Role] = []
        self.fs_uniquifier = uuid.uuid4().hex
        self.tf_primary_method: str | None = None
        self.tf_totp_secret: str | None = None
        self.tf_phone_number: str | None = None
        self.__dict__.update(kwargs)


class MemoryUserDatastore(Datastore, UserDatastore):  # type: ignore[misc]
    def __init__(self) -> None:
        Datastore.__init__(self, None)
        UserDatastore.__init__(self, User, Role)
        self.users: list[User] = []
        self.role_list: list[Role] = []

    def put(self, model: Any) -> Any:
        store = self.users if isinstance(model, User) else self.role_list
        if model not in store:
            store.append(model)
        return model

    def delete(self, model: Any) -> None:
        for store in (self.users, self.role_list):
            if model in store:
                store.remove(model)

    def commit(self) -> None:
        pass

    def find_user(self, case_insensitive: bool = False, **kwargs: Any) -> User | None:
        def same(a: Any, b: Any) -> bool:
            if case_insensitive and isinstance(a, str) and isinstance(b, str):
                return a.lower() == b.lower()
            return bool(a == b)

        for user in self.users:
            if all(same(getattr(user, k, None), v) for k, v in kwargs.items()):
                return user
        return None

    def find_role(self, role: str) -> Role | None:
        return next((r for r in self.role_list if r.name == role), None)
