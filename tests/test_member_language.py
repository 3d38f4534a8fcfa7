"""Each member's language (User.language): chosen at sign-up, in the profile
or with the language switch; the site and every email follow it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from contributions import notifications
from contributions.models import OutgoingEmail, User

from .factories import UserFactory
from .test_accounts import SIGNUP

pytestmark = pytest.mark.django_db


def _html_language(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


def test_sign_up_keeps_the_language_the_site_was_read_in(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.post(reverse("account_signup"), SIGNUP)
    user = User.objects.get(email=SIGNUP["email"].lower())
    assert user.language == "en"
    # The confirmation email is in it too.
    mail = OutgoingEmail.objects.get(to=user.email)
    assert "Please Confirm Your Email Address" in mail.subject, mail.subject


def test_sign_up_in_french_by_default(client):
    client.post(reverse("account_signup"), SIGNUP)
    assert User.objects.get(email=SIGNUP["email"].lower()).language == "fr"


def test_a_member_reads_the_site_in_their_language_whatever_the_cookie(client):
    member = UserFactory(language="en")
    client.force_login(member)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get(reverse("contributions:dashboard"))
    assert _html_language(response) == "en" and response["Content-Language"] == "en"
    # A member who has not chosen reads it as a visitor does.
    client.force_login(UserFactory(language=""))
    assert _html_language(client.get(reverse("contributions:dashboard"))) == "fr"


def test_the_language_switch_changes_a_members_language(client):
    member = UserFactory(language="fr")
    client.force_login(member)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/dashboard/"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.language == "en"
    assert _html_language(client.get("/dashboard/")) == "en"
    # A language the site does not speak changes nothing.
    client.post(reverse("set_language"), {"language": "xx", "next": "/dashboard/"})
    member.refresh_from_db()
    assert member.language == "en"


def test_the_language_switch_still_works_for_visitors(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert _html_language(client.get("/")) == "en"


def test_the_profile_sets_the_language(client):
    member = UserFactory(language="")
    client.force_login(member)
    page = client.get(reverse("contributions:profile")).content.decode()
    assert 'name="language"' in page
    response = client.post(reverse("contributions:profile"), {
        "display_name": "Alex", "affiliation": "", "language": "en", "review_digest": "on"}, follow=True)
    member.refresh_from_db()
    assert member.language == "en"
    page = response.content.decode()
    assert _html_language(response) == "en" and "Your profile has been saved." in page
    client.post(reverse("contributions:profile"), {"display_name": "Alex", "affiliation": "", "language": ""})
    member.refresh_from_db()
    assert member.language == ""


def test_a_notification_email_is_in_the_members_language_not_the_pages(client):
    english, french, unchosen = UserFactory(language="en"), UserFactory(language="fr"), UserFactory(language="")
    from django.utils import translation

    with translation.override("en"):
        notifications.notify(users=[english, french, unchosen], kind=notifications.K.REINSTATED, params={})
    assert "active again" in OutgoingEmail.objects.get(to=english.email).subject
    assert "de nouveau actif" in OutgoingEmail.objects.get(to=french.email).subject
    # Not chosen yet: the site's language.
    assert "de nouveau actif" in OutgoingEmail.objects.get(to=unchosen.email).subject


def test_allauth_emails_are_in_the_members_language(client):
    member = UserFactory(language="en")
    # The page is read in French; the member chose English.
    client.post(reverse("account_reset_password"), {"email": member.email})
    mail = OutgoingEmail.objects.get(to=member.email)
    assert "Password Reset" in mail.subject, mail.subject


def test_the_api_answers_a_token_caller_in_their_chosen_language():
    from django.test import Client

    from contributions import tokens

    english = UserFactory(language="en")
    _token, key = tokens.token_create(user=english, name="script", days=30)
    client = Client()
    response = client.get("/api/v1/corpora/999999/", HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert response.json()["message"] == "Not found." and response["Content-Language"] == "en"
