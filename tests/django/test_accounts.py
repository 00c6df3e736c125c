"""Account lifecycle, privilege changes and admin actions, naming who changed whom."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from seclog_core.testing import CapturedEvents, capture_security_events
from seclog_django import membership

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def admin_client() -> Client:
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    client.force_login(root)
    return client


def _change_form(user: User, **changes: str) -> dict[str, str]:
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


def test_creating_and_deleting_a_user_outside_a_request(events: CapturedEvents) -> None:
    """create_user and delete are user_created and user_deleted for the target."""
    carol = User.objects.create_user("carol", password=PASSWORD)
    carol.delete()
    assert events.types == ["user_created", "user_deleted"]
    created = events.one("user_created")
    assert created.attributes["user.target.name"] == "carol"
    assert created.attributes["security.outcome"] == "success"
    assert PASSWORD not in str(created.attributes)


def test_deactivating_a_user_is_user_archived(bob: User, events: CapturedEvents) -> None:
    """is_active going True -> False is user_archived."""
    bob.is_active = False
    bob.save()
    archived = events.one("user_archived")
    assert archived.attributes["user.target.name"] == "bob"
    assert archived.attributes["security.reason"] == "user_deactivated"


def test_admin_making_a_user_staff(bob: User, admin_client: Client) -> None:
    """Ticking "Staff status" in the admin: privilege change and admin action, naming root."""
    with capture_security_events() as events:
        response = admin_client.post(
            f"/admin/auth/user/{bob.pk}/change/", _change_form(bob, is_staff="on")
        )
    assert response.status_code == 302, response.content[:800]
    change = events.one("privilege_permissions_changed")
    assert change.attributes["security.permission"] == "is_staff"
    assert change.attributes["security.reason"] == "is_staff_granted"
    assert change.attributes["user.target.name"] == "bob"
    assert change.attributes["user.target.id"] == str(bob.pk)
    assert change.attributes["user.changes.name"] == "root"
    assert change.attributes["user.name"] == "root"
    assert change.attributes["http.route"].startswith("admin/")
    admin = events.one("authz_admin")
    assert admin.attributes["security.action"] == "change"
    assert admin.attributes["security.resource"] == "auth.user"
    assert admin.attributes["security.object_id"] == str(bob.pk)
    assert admin.attributes["user.changes.name"] == "root"
    assert admin.attributes["security.outcome"] == "success"


def test_admin_adding_a_user_to_a_group(bob: User, admin_client: Client) -> None:
    """Adding bob to a group in the admin is authz_change for bob, by root (from the admin log)."""
    editors = Group.objects.create(name="editors")
    with capture_security_events() as events:
        admin_client.post(
            f"/admin/auth/user/{bob.pk}/change/", _change_form(bob, groups=str(editors.pk))
        )
    change = events.one("authz_change")
    assert change.attributes["security.reason"] == "groups_changed"
    assert change.attributes["user.target.name"] == "bob"
    assert change.attributes["user.target.id"] == str(bob.pk)
    assert change.attributes["user.changes.name"] == "root"


@pytest.fixture
def tracked() -> Iterator[None]:
    membership.track()
    yield
    membership.untrack()


@pytest.mark.usefixtures("tracked")
def test_admin_group_change_with_tracking_names_the_group(bob: User, admin_client: Client) -> None:
    """With membership.track(), the admin's group change names the group added."""
    editors = Group.objects.create(name="editors")
    with capture_security_events() as events:
        admin_client.post(
            f"/admin/auth/user/{bob.pk}/change/", _change_form(bob, groups=str(editors.pk))
        )
    change = events.one("authz_change")
    assert change.attributes["security.reason"] == "groups_added"
    assert change.attributes["security.permission"] == "editors"
    assert change.attributes["user.changes.name"] == "root"


@pytest.mark.usefixtures("tracked")
def test_permissions_and_reverse_group_membership_in_code(
    bob: User, events: CapturedEvents
) -> None:
    """With membership.track(), user_permissions.add and group.user_set.remove made in code
    are authz_change for the user."""
    perm = Permission.objects.get(codename="view_user")
    bob.user_permissions.add(perm)
    group = Group.objects.create(name="ops")
    group.user_set.add(bob)
    group.user_set.remove(bob)
    changes = events.of_type("authz_change")
    reasons = [e.attributes["security.reason"] for e in changes]
    assert reasons == ["user_permissions_added", "groups_added", "groups_removed"]
    assert all(e.attributes["user.target.name"] == "bob" for e in changes)
    assert [e.attributes["security.permission"] for e in changes] == ["view_user", "ops", "ops"]


def test_membership_in_code_is_silent_unless_tracked(bob: User, events: CapturedEvents) -> None:
    """By default seclog does not listen to m2m changes (that would cost Django a query)."""
    bob.groups.add(Group.objects.create(name="ops"))
    assert events.of_type("authz_change") == []


def test_revoking_superuser_is_privilege_change(events: CapturedEvents) -> None:
    """is_superuser going True -> False is privilege_permissions_changed (revoked)."""
    boss = User.objects.create_superuser("boss", password=PASSWORD)
    boss.is_superuser = False
    boss.save()
    change = events.one("privilege_permissions_changed")
    assert change.attributes["security.reason"] == "is_superuser_revoked"


def test_admin_deleting_a_user(bob: User, admin_client: Client) -> None:
    """Deleting bob in the admin is user_deleted plus an authz_admin deletion."""
    with capture_security_events() as events:
        response = admin_client.post(f"/admin/auth/user/{bob.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert events.one("user_deleted").attributes["user.changes.name"] == "root"
    assert events.one("authz_admin").attributes["security.action"] == "deletion"
