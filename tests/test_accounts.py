from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from contributions.models import AgreementAcceptance, OutgoingEmail, User

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "Claire.Dupont@Example.org",
    "password1": "un-mot-de-passe-solide-42",
    "password2": "un-mot-de-passe-solide-42",
    "display_name": "Claire Dupont",
    "accept_agreement": "on",
}


def link_in(mail: OutgoingEmail, pattern: str) -> str:
    match = re.search(rf"https?://[^/\s]+({pattern})", mail.body_text)
    assert match, mail.body_text
    return match.group(1)


def test_signup_sends_verification_email_then_confirmation_allows_login(client):
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")

    user = User.objects.get(email="claire.dupont@example.org")
    assert user.display_name == "Claire Dupont"
    assert not EmailAddress.objects.get(user=user).verified
    # Mandatory verification: not signed in yet.
    assert "_auth_user_id" not in client.session

    mail = OutgoingEmail.objects.get(to="claire.dupont@example.org")
    assert mail.status == "queued"
    confirm_url = link_in(mail, r"/accounts/confirm-email/[^\s]+/")
    assert client.get(confirm_url).status_code == 200
    assert client.post(confirm_url).status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    response = client.post(
        reverse("account_login"), {"login": "claire.dupont@example.org", "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_records_the_accepted_agreement_version(client, settings):
    settings.CONTRIBUTOR_AGREEMENT_VERSION = "2026-test"
    client.post(reverse("account_signup"), SIGNUP)
    acceptance = AgreementAcceptance.objects.get(user__email="claire.dupont@example.org")
    assert acceptance.version == "2026-test"
    assert acceptance.accepted_at is not None


def test_signup_refused_without_accepting_the_agreement(client):
    response = client.post(reverse("account_signup"), {**SIGNUP, "accept_agreement": ""})
    assert response.status_code == 200
    assert "accept_agreement" in response.context["form"].errors
    assert not User.objects.exists()


def test_unverified_member_cannot_log_in(client):
    client.post(reverse("account_signup"), SIGNUP)
    response = client.post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_signup_with_a_known_email_answers_like_a_new_one(client, member):
    response = client.post(reverse("account_signup"), {**SIGNUP, "email": member.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email=member.email).count() == 1
    # The owner of the address is told, by email only.
    assert OutgoingEmail.objects.filter(to=member.email).count() == 1


def test_password_reset_answers_the_same_for_known_and_unknown_emails(client, member):
    known = client.post(reverse("account_reset_password"), {"email": member.email})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")


def test_password_reset_link_sets_a_new_password(client, member):
    client.post(reverse("account_reset_password"), {"email": member.email})
    mail = OutgoingEmail.objects.get(to=member.email)
    reset_url = link_in(mail, r"/accounts/password/reset/key/[^\s]+/")
    response = client.get(reset_url)
    assert response.status_code == 302  # allauth moves the key into the session
    form_url = response["Location"]
    new = "un-tout-nouveau-secret-77"
    response = client.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(new)


def test_login_rotates_the_session_key(client, member):
    client.get(reverse("account_login"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(member.pk)
    assert client.session.session_key != before


def test_logout_ends_the_session(client, member):
    client.force_login(member)
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_are_rate_limited(client, member):
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": member.email, "password": "wrong-password-x"})
        assert response.status_code == 200
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    # Even the right password is refused while the limit holds.
    assert "_auth_user_id" not in client.session
    assert response.status_code in {200, 429}


def test_member_changes_password(client, member):
    client.force_login(member)
    new = "encore-un-autre-secret-12"
    response = client.post(
        reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": new, "password2": new}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(new)


def test_member_changes_email_after_verifying_the_new_one(client, member):
    client.force_login(member)
    response = client.post(reverse("account_email"), {"action_add": "", "email": "nouvelle@example.org"})
    assert response.status_code == 302
    mail = OutgoingEmail.objects.get(to="nouvelle@example.org")
    confirm_url = link_in(mail, r"/accounts/confirm-email/[^\s]+/")
    client.post(confirm_url)
    member.refresh_from_db()
    assert member.email == "nouvelle@example.org"
    assert EmailAddress.objects.get(user=member, email="nouvelle@example.org").verified


def test_new_agreement_version_asks_members_again(client, member, settings):
    client.force_login(member)
    assert client.get(reverse("contributions:profile")).status_code == 200
    settings.CONTRIBUTOR_AGREEMENT_VERSION = "2027-01"
    response = client.get(reverse("contributions:profile"))
    assert response.status_code == 302
    assert response["Location"] == reverse("contributions:agreement") + "?next=%2Fprofile%2F"

    response = client.post(reverse("contributions:agreement"), {"next": "/profile/"})
    assert response["Location"] == "/profile/"
    assert AgreementAcceptance.objects.filter(user=member, version="2027-01").exists()
    assert client.get(reverse("contributions:profile")).status_code == 200


def test_agreement_next_never_leaves_the_site(client, member, settings):
    settings.CONTRIBUTOR_AGREEMENT_VERSION = "2027-01"
    client.force_login(member)
    response = client.post(reverse("contributions:agreement"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("contributions:home")


def test_member_without_current_agreement_can_still_export_or_delete(client, settings):
    user = UserFactory(agreement=False)
    client.force_login(user)
    assert client.get(reverse("contributions:profile_export")).status_code == 200
    assert client.get(reverse("contributions:profile_delete")).status_code == 200


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_admin_refuses_members_and_admits_maintainers(client, member, maintainer):
    client.force_login(member)
    assert client.get("/admin/login/").status_code == 403
    client.force_login(maintainer)
    assert client.get("/admin/").status_code == 200


def test_the_agreement_is_looked_up_once_a_session(client, member, monkeypatch):
    from contributions import middleware

    calls = []
    real = middleware.agreement_is_current
    monkeypatch.setattr(middleware, "agreement_is_current", lambda **kw: calls.append(1) or real(**kw))
    client.force_login(member)
    for _ in range(3):
        assert client.get(reverse("contributions:profile")).status_code == 200
    assert len(calls) == 1
