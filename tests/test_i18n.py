from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["contributions:home", "contributions:agreement", "account_login", "account_signup", "account_reset_password"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_in_french_by_default(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response["Content-Language"] == "fr"
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Aller au contenu" in html
    assert "Skip to content" not in html


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_in_english_when_chosen(client, name):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse(name)})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Skip to content" in html


def test_member_pages_are_translated(client, member):
    client.force_login(member)
    html = client.get(reverse("contributions:profile")).content.decode()
    assert "Télécharger mes données (JSON)" in html
    assert "Supprimer mon compte" in html


def test_allauth_pages_use_french(client):
    html = client.get(reverse("account_login")).content.decode()
    assert "Mot de passe" in html


def test_language_switcher_works_without_javascript(client):
    html = client.get(reverse("contributions:home")).content.decode()
    assert f'action="{reverse("set_language")}" method="post"' in html
    assert '<button type="submit">Changer</button>' in html


@pytest.mark.django_db
def test_the_home_page_says_what_analyses_documents_in_french(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Des processus d’analyse examinent chaque document" in page
    assert "workers" not in page.lower()
