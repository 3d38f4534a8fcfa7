from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from contributions.models import AgreementAcceptance, OutgoingEmail, User

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_member_edits_profile(client, member):
    client.force_login(member)
    response = client.post(
        reverse("contributions:profile"),
        {"display_name": "  Jeanne  ", "affiliation": "Inria", "public_profile": "on"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.display_name, member.affiliation, member.public_profile) == ("Jeanne", "Inria", True)


def test_public_profile_shows_name_private_one_is_404(client, member, other_member):
    member.public_profile = True
    member.affiliation = "CNRS"
    member.save()
    response = client.get(reverse("contributions:person", args=[member.pseudonym]))
    assert response.status_code == 200
    assert member.display_name in response.content.decode()
    assert "CNRS" in response.content.decode()
    assert client.get(reverse("contributions:person", args=[other_member.pseudonym])).status_code == 404


def test_download_my_data_returns_everything_about_me(client, member, other_member):
    client.force_login(member)
    response = client.get(reverse("contributions:profile_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["account"]["email"] == member.email
    assert data["account"]["pseudonym"] == member.pseudonym
    assert data["email_addresses"] == [{"email": member.email, "verified": True, "primary": True}]
    assert [a["version"] for a in data["contributor_agreements"]] == ["2026-11"]
    assert other_member.email not in response.content.decode()


def test_delete_account_requires_confirmation(client, member):
    client.force_login(member)
    response = client.post(reverse("contributions:profile_delete"), {})
    assert response.status_code == 200
    assert User.objects.filter(pk=member.pk).exists()


def test_delete_account_removes_the_member_and_their_personal_data(client, member):
    OutgoingEmail.objects.create(to=member.email, subject="s", body_text="b", from_email="f@example.org")
    client.force_login(member)
    response = client.post(reverse("contributions:profile_delete"), {"confirm": "on"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert not EmailAddress.objects.filter(email=member.email).exists()
    assert not AgreementAcceptance.objects.filter(user_id=member.pk).exists()
    assert not OutgoingEmail.objects.filter(to=member.email).exists()
    assert "_auth_user_id" not in client.session


def test_last_maintainer_cannot_delete_their_account(client, maintainer):
    client.force_login(maintainer)
    client.post(reverse("contributions:profile_delete"), {"confirm": "on"})
    assert User.objects.filter(pk=maintainer.pk).exists()


def test_pseudonyms_are_unique_and_not_the_email():
    users = UserFactory.create_batch(5)
    assert len({u.pseudonym for u in users}) == 5
    assert all("@" not in u.pseudonym for u in users)
