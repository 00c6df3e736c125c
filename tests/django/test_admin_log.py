"""Django's admin log: every admin action is reported, with no added query and no credential."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core import signals as core_signals
from django.db import connection, transaction
from django.db.models import signals as model_signals
from django.dispatch import Signal
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from seclog_core import failure_counts
from seclog_core.testing import CapturedEvents, capture_security_events
from tests.django.conftest import wire_text
from tests.support.telemetry import Telemetry

PASSWORD = "correct-horse-battery-staple-42"
SECLOG_MW = "seclog_django.middleware.SecurityLoggingMiddleware"


@pytest.fixture
def root() -> User:
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def admin_client(root: User) -> Client:
    client = Client()
    client.force_login(root)
    return client


def _signals() -> list[Signal]:
    from django.contrib.auth import signals as auth_signals

    found = [
        value
        for module in (model_signals, core_signals, auth_signals)
        for value in vars(module).values()
        if isinstance(value, Signal)
    ]
    return found


@contextmanager
def _without_seclog() -> Iterator[None]:
    """The same site with every seclog receiver disconnected and its middleware removed."""
    saved = {}
    for signal in _signals():
        saved[signal] = list(signal.receivers)
        signal.receivers = [r for r in signal.receivers if not _is_seclog(r)]
        signal.sender_receivers_cache.clear()
    try:
        with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != SECLOG_MW]):
            yield
    finally:
        for signal, receivers in saved.items():
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


def _is_seclog(record: Any) -> bool:
    key, target = record[0], record[1]
    if isinstance(target, weakref.ReferenceType):  # WeakMethod too
        target = target()
    uid = key[0] if isinstance(key, tuple) else key
    return str(uid).startswith("seclog.") or getattr(target, "__module__", "").startswith(
        "seclog_django"
    )


def _queries(action: Any) -> list[str]:
    """The SQL one run of ``action`` makes, from a cold content-type cache, rolled back."""
    ContentType.objects.clear_cache()
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            action()
        transaction.set_rollback(True)
    return [q["sql"] for q in captured.captured_queries]


def _same_queries_with_and_without_seclog(action: Any) -> CapturedEvents:
    with _without_seclog():
        with capture_security_events() as silent:
            baseline = _queries(action)
    assert silent == [], "seclog was not disconnected"
    with capture_security_events() as events:
        wired = _queries(action)
    assert len(wired) == len(baseline), "\n".join(
        ["--- without seclog", *baseline, "--- with seclog", *wired]
    )
    return events


def test_disconnecting_seclog_silences_it(root: User) -> None:
    """The comparison below is real: without seclog's receivers no event is emitted."""
    with _without_seclog(), capture_security_events() as events:
        User.objects.create_user("quiet")
    assert events == []


def _user_form(user: User, **changes: str) -> dict[str, str]:
    joined = user.date_joined
    data = {
        "username": user.username,
        "email": user.email,
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "is_active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_admin_add_change_delete_add_no_query(admin_client: Client) -> None:
    """Adding, changing (staff, groups, permissions) and deleting users in the admin costs the
    same number of queries with seclog as without, and each is reported."""
    bob = User.objects.create_user("bob", password=PASSWORD)
    editors = Group.objects.create(name="editors")
    perm = Permission.objects.get(codename="view_user")

    def add() -> None:
        response = admin_client.post(
            "/admin/auth/user/add/",
            {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302, response.content[:500]

    def change() -> None:
        response = admin_client.post(
            f"/admin/auth/user/{bob.pk}/change/",
            _user_form(bob, is_staff="on", groups=str(editors.pk), user_permissions=str(perm.pk)),
        )
        assert response.status_code == 302, response.content[:500]

    def delete() -> None:
        response = admin_client.post(f"/admin/auth/user/{bob.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302

    def group() -> None:
        response = admin_client.post(
            "/admin/auth/group/add/", {"name": "auditors", "permissions": str(perm.pk)}
        )
        assert response.status_code == 302

    added = _same_queries_with_and_without_seclog(add)
    assert {"user_created", "authz_admin"} <= set(added.types)
    changed = _same_queries_with_and_without_seclog(change)
    assert {"privilege_permissions_changed", "authz_change", "authz_admin"} <= set(changed.types)
    reasons = {e.attributes["security.reason"] for e in changed.of_type("authz_change")}
    assert reasons == {"groups_changed", "user_permissions_changed"}
    deleted = _same_queries_with_and_without_seclog(delete)
    assert {"user_deleted", "authz_admin"} <= set(deleted.types)
    grouped = _same_queries_with_and_without_seclog(group)
    assert grouped.one("authz_admin").attributes["security.resource"] == "auth.group"

    def regroup() -> None:
        auditors = Group.objects.create(name="auditors")
        response = admin_client.post(
            f"/admin/auth/group/{auditors.pk}/change/",
            {"name": "auditors", "permissions": str(perm.pk)},
        )
        assert response.status_code == 302

    regrouped = _same_queries_with_and_without_seclog(regroup)
    regroup_event = regrouped.one("authz_change")
    assert regroup_event.attributes["security.reason"] == "group_permissions_changed"
    assert regroup_event.attributes["security.object"] == "auditors"


def test_group_membership_in_code_adds_no_query(root: User) -> None:
    """group.user_set.add and user.groups.remove by id: the same queries with seclog installed
    (seclog does not listen to m2m_changed unless membership.track() is called)."""
    bob = User.objects.create_user("bob", password=PASSWORD)
    ops = Group.objects.create(name="ops")
    perm = Permission.objects.get(codename="view_user")

    def membership() -> None:
        ops.user_set.add(bob.pk)
        bob.groups.remove(ops.pk)
        bob.user_permissions.add(perm)
        ops.permissions.set([perm])

    _same_queries_with_and_without_seclog(membership)


def test_admin_entry_names_the_admin_without_loading_a_user(
    admin_client: Client, root: User
) -> None:
    """authz_admin names the acting admin from the request's user, by id and name."""
    with capture_security_events() as events:
        admin_client.post("/admin/auth/group/add/", {"name": "editors"})
    entry = events.one("authz_admin")
    assert entry.attributes["security.action"] == "addition"
    assert entry.attributes["security.object"] == "editors"
    assert entry.attributes["user.changes.name"] == "root"
    assert entry.attributes["user.changes.id"] == str(root.pk)
    assert entry.attributes["security.changes"] == "Added."


def test_drf_token_created_in_the_admin_never_leaves(admin_client: Client, wire: Telemetry) -> None:
    """Creating and deleting a DRF token in the admin reports it by kind, never its key."""
    bob = User.objects.create_user("bob", password=PASSWORD)
    with capture_security_events() as events:
        response = admin_client.post("/admin/authtoken/tokenproxy/add/", {"user": bob.pk})
        assert response.status_code == 302, response.content[:500]
        token = Token.objects.get(user=bob)
        response = admin_client.post(
            f"/admin/authtoken/tokenproxy/{bob.pk}/delete/",
            {"post": "yes"},  # its pk is the user
        )
        assert response.status_code == 302
    added, deleted = events.of_type("authz_admin")
    assert added.attributes["security.resource"] == "authtoken.tokenproxy"
    assert added.attributes["security.object"] == "authtoken.tokenproxy"
    assert "security.object_id" not in added.attributes  # the key is the primary key
    assert deleted.attributes["security.action"] == "deletion"
    assert token.key not in str([e.attributes for e in events])
    assert token.key not in wire_text(wire)


def test_credential_inline_is_named_by_kind_only() -> None:
    """An inline token added on a user form appears in the change message as 'token' only."""
    from seclog_django.admin_log import render_change_message

    message = '[{"added": {"name": "Token", "object": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}}]'
    assert render_change_message(message) == "Added Token."
    other = '[{"added": {"name": "choice", "object": "Yes"}}, {"changed": {"fields": ["Email"]}}]'
    assert render_change_message(other) == "Added choice “Yes”. Changed Email."


def test_sites_name_their_own_credential_models(admin_client: Client) -> None:
    """SECLOG credential_models hides the str() of the site's own models (here: groups)."""
    with override_settings(SECLOG={"credential_models": ["auth.Group"]}):
        with capture_security_events() as events:
            admin_client.post("/admin/auth/group/add/", {"name": "api-key-abcdef123456"})
    entry = events.one("authz_admin")
    group = Group.objects.get(name="api-key-abcdef123456")
    assert entry.attributes["security.object"] == f"auth.group {group.pk}"
    assert "api-key-abcdef123456" not in str(entry.attributes)


def test_session_rows_are_credentials() -> None:
    """Django's own Session (its key is its primary key) is a known credential model."""
    from django.contrib.sessions.models import Session

    from seclog_django._credentials import is_credential, safe_object_id

    assert is_credential(Session)
    assert safe_object_id(Session, "abc123sessionkey") is None
    assert is_credential(Token)
    assert not is_credential(Group)
    assert safe_object_id(Group, 5) == "5"


def test_admin_action_on_several_objects_reports_each(admin_client: Client) -> None:
    """Deleting three groups with the admin's bulk action reports three authz_admin events
    (Django 5.1+ writes them with bulk_create, which sends no post_save)."""
    groups = [Group.objects.create(name=f"team-{i}") for i in range(3)]
    with capture_security_events() as events:
        response = admin_client.post(
            "/admin/auth/group/",
            {
                "action": "delete_selected",
                "_selected_action": [str(g.pk) for g in groups],
                "post": "yes",
            },
        )
        assert response.status_code == 302
    entries = events.of_type("authz_admin")
    assert sorted(e.attributes["security.object"] for e in entries) == [
        "team-0",
        "team-1",
        "team-2",
    ]
    assert {e.attributes["security.action"] for e in entries} == {"deletion"}


def test_log_entry_with_a_dict_message_or_a_missing_user_never_raises(root: User) -> None:
    """A LogEntry whose change_message is a dict, or whose user row does not exist, is still
    reported and never raises into the code that wrote it."""
    ctype = ContentType.objects.get_for_model(Group)
    before = sum(failure_counts().values())
    with capture_security_events() as events:
        LogEntry.objects.create(
            user_id=root.pk,
            content_type_id=ctype.pk,
            object_id="1",
            object_repr="g",
            action_flag=CHANGE,
            change_message={"changed": {"fields": ["name"]}},
        )
        LogEntry.objects.create(
            user_id=987654,  # not a user: the FK is checked at commit, which never comes here
            content_type_id=ctype.pk,
            object_id="2",
            object_repr="h",
            action_flag=ADDITION,
            change_message='[{"added": {}}]',
        )
    first, second = events.of_type("authz_admin")
    assert first.attributes["security.changes"] == "Changed name."
    assert second.attributes["user.changes.id"] == "987654"
    assert "user.changes.name" not in second.attributes
    assert sum(failure_counts().values()) == before


def test_unknown_content_type_is_not_fetched_and_not_named(root: User) -> None:
    """An entry whose content type the process never loaded costs no query; its repr is held
    back (it could be a credential)."""
    ctype = ContentType.objects.get_for_model(Token)
    ContentType.objects.clear_cache()
    with capture_security_events() as events, CaptureQueriesContext(connection) as queries:
        LogEntry(
            user_id=root.pk,
            content_type_id=ctype.pk,
            object_id="k",
            object_repr="9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
            action_flag=ADDITION,
        ).save()
    assert len(queries.captured_queries) == 1  # the INSERT only
    entry = events.one("authz_admin")
    assert "security.object" not in entry.attributes
    assert "9944b09199c62bcf" not in str(entry.attributes)


def _credential_objects(owner: User) -> dict[str, Any]:
    """One saved row of each installed credential model, with a recognisable secret in str()."""
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    app = SocialApp.objects.create(
        provider="github", name="GH-app-SECRETNAME", client_id="cid", secret="SECRET-app"
    )
    account = SocialAccount.objects.create(user=owner, provider="github", uid="77")
    store = SessionStore()
    store["k"] = "v"
    store.create()
    return {
        "authtoken.token": Token.objects.create(user=owner),
        "socialaccount.socialtoken": SocialToken.objects.create(
            app=app, account=account, token="gho_SECRETsocialtoken0123456789"
        ),
        "socialaccount.socialapp": app,
        "mfa.authenticator": Authenticator.objects.create(
            user=owner, type="totp", data={"secret": "SECRETTOTPSEED"}
        ),
        "sessions.session": Session.objects.get(session_key=store.session_key),
    }


@pytest.mark.parametrize(
    "label",
    [
        "authtoken.token",
        "socialaccount.socialtoken",
        "socialaccount.socialapp",
        "mfa.authenticator",
        "sessions.session",
    ],
)
def test_credential_models_never_send_their_str_or_key(
    label: str, root: User, wire: Telemetry
) -> None:
    """Each installed credential model, logged the way the admin logs it, is named by kind:
    neither its str() nor a primary key that is the secret reaches the wire."""
    obj = _credential_objects(root)[label]
    ctype = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    with capture_security_events() as events:
        LogEntry.objects.create(
            user_id=root.pk,
            content_type_id=ctype.pk,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            action_flag=ADDITION,
            change_message='[{"added": {}}]',
        )
    entry = events.one("authz_admin")
    assert entry.attributes["security.resource"] == label
    assert str(entry.attributes["security.object"]).startswith(label)
    sent = wire_text(wire)
    assert str(obj) not in sent
    if not isinstance(obj.pk, int):
        assert str(obj.pk) not in sent
