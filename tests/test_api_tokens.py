"""Personal API tokens on the profile: made, shown once, listed, revoked."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from contributions import tokens
from contributions.models import ApiToken

from .factories import signed_in

pytestmark = pytest.mark.django_db


def test_member_makes_a_token_sees_its_key_once_and_it_opens_the_api(client, member):
    signed_in(client, member)
    response = client.post("/profile/tokens/", {"name": "script du labo", "days": "90"})
    assert response.status_code == 200
    key = re.search(r'value="(oll_[^"]+)"', response.content.decode())[1]
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/corpora/").status_code == 200
    listed = client.get("/profile/tokens/").content.decode()
    assert "script du labo" in listed
    assert key not in listed  # never shown again
    assert key[:12] in listed  # its start tells it apart
    token = ApiToken.objects.get(user=member)
    assert (token.expires_at - token.created_at).days == 90


def test_member_revokes_a_token_and_it_stops_working(client, member):
    token, key = tokens.token_create(user=member, name="ci", days=30)
    signed_in(client, member)
    response = client.post(f"/profile/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/corpora/").status_code == 401
    assert "révoqué" in client.get("/profile/tokens/").content.decode()


def test_a_member_cannot_revoke_the_token_of_another(client, member, other_member):
    token, key = tokens.token_create(user=other_member, name="theirs", days=30)
    signed_in(client, member)
    assert client.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 404
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/corpora/").status_code == 200


def test_a_token_without_a_name_or_a_valid_lifetime_is_refused(client, member):
    signed_in(client, member)
    assert client.post("/profile/tokens/", {"name": " ", "days": "90"}).status_code == 200
    assert client.post("/profile/tokens/", {"name": "x", "days": "100000"}).status_code == 200
    assert not ApiToken.objects.exists()
    with pytest.raises(ValidationError):
        tokens.token_create(user=member, name="x", days=0)


def test_a_token_is_not_its_key_with_another_prefix_or_a_guess(member):
    _token, key = tokens.token_create(user=member, name="x", days=30)
    for wrong in [key[:-1], key + "x", key.replace("oll_", "xyz_"), "oll_", "Token", "é" * 40]:
        response = Client(HTTP_AUTHORIZATION=f"Token {wrong}").get("/api/v1/corpora/")
        assert response.status_code == 401, wrong
    assert Client(HTTP_AUTHORIZATION=f"Token {key} extra").get("/api/v1/corpora/").status_code == 401
    # Another scheme is not ours: the caller is anonymous, asked for a token.
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/corpora/").status_code == 401
