from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contributions import accounts
from contributions.models import Role, RoleChange

from .factories import MaintainerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db


def test_maintainer_grants_and_revokes_reviewer_role(client, maintainer, member):
    client.force_login(maintainer)
    url = reverse("contributions:role_update", args=[member.pk])
    assert client.post(url, {"role": "reviewer"}).status_code == 302
    member.refresh_from_db()
    assert member.role == Role.REVIEWER and member.is_reviewer and not member.is_maintainer

    client.post(url, {"role": "member"})
    member.refresh_from_db()
    assert member.role == Role.MEMBER
    changes = list(RoleChange.objects.filter(user=member).order_by("changed_at").values_list("old_role", "new_role"))
    assert changes == [("member", "reviewer"), ("reviewer", "member")]
    assert RoleChange.objects.filter(user=member, changed_by=maintainer).count() == 2


def test_granting_maintainer_gives_admin_access(client, maintainer, member):
    client.force_login(maintainer)
    client.post(reverse("contributions:role_update", args=[member.pk]), {"role": "maintainer"})
    client.force_login(member)
    assert client.get("/admin/").status_code == 200


def test_unknown_role_is_refused(client, maintainer, member):
    client.force_login(maintainer)
    client.post(reverse("contributions:role_update", args=[member.pk]), {"role": "emperor"})
    member.refresh_from_db()
    assert member.role == Role.MEMBER


def test_last_maintainer_cannot_be_demoted(client, maintainer):
    client.force_login(maintainer)
    client.post(reverse("contributions:role_update", args=[maintainer.pk]), {"role": "member"})
    maintainer.refresh_from_db()
    assert maintainer.role == Role.MAINTAINER
    with pytest.raises(ValidationError):
        accounts.role_set(actor=maintainer, user=maintainer, role=Role.MEMBER)


def test_a_maintainer_can_step_down_when_another_remains(maintainer):
    MaintainerFactory()
    accounts.role_set(actor=maintainer, user=maintainer, role=Role.REVIEWER)
    maintainer.refresh_from_db()
    assert maintainer.role == Role.REVIEWER


def test_reviewer_cannot_change_roles(reviewer, member):
    with pytest.raises(PermissionDenied):
        accounts.role_set(actor=reviewer, user=member, role=Role.REVIEWER)


def test_roles_page_lists_and_searches_members(client, maintainer):
    UserFactory(email="alice@example.org", display_name="Alice")
    UserFactory(email="bob@example.org", display_name="Bob")
    client.force_login(maintainer)
    response = client.get(reverse("contributions:roles"), {"q": "alice"})
    assert [u.email for u in response.context["page"]] == ["alice@example.org"]


def test_roles_page_query_count_does_not_grow_with_members(client, maintainer):
    signed_in(client, maintainer)
    UserFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("contributions:roles")).status_code == 200
    UserFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("contributions:roles")).status_code == 200
    assert len(many) == len(few)
    assert len(few) <= 8
