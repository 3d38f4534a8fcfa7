from __future__ import annotations

import html
from types import SimpleNamespace

import pytest
from allauth.account import app_settings as allauth_settings
from django.urls import reverse

from contributions import ratelimits
from contributions.models import AbuseReport, Comment, CorpusStatus, RemovalRequest

from .corpora import make_corpus
from .factories import UserFactory

pytestmark = pytest.mark.django_db

REMOVAL = {"kind": "copyright", "phrase": "Une phrase de mon livre", "contact": "auteur@example.org"}
SIGNUP = {
    "password1": "un-mot-de-passe-solide-42",
    "password2": "un-mot-de-passe-solide-42",
    "accept_agreement": "on",
}


def published(user):
    corpus = make_corpus(user)
    corpus.status = CorpusStatus.APPROVED
    corpus.save(update_fields=["status"])
    return corpus


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The limiter's clock, at the start of an hour, moved by hand: no test
    sees a window end between two of its requests."""
    now = SimpleNamespace(value=1_800_000_000.0)
    monkeypatch.setattr(ratelimits, "time", SimpleNamespace(time=lambda: now.value))
    return now


def test_removal_requests_from_one_address_are_refused_past_the_limit(client):
    # The finding: 40 requests in 4 s from one address were all accepted.
    statuses = [client.post(reverse("contributions:removal_new"), REMOVAL).status_code for _ in range(40)]
    assert statuses == [200] * 5 + [429] * 35
    assert RemovalRequest.objects.count() == 5


def test_the_refusal_page_says_what_was_limited_and_when_to_try_again(client, clock):
    clock.value += 45 * 60  # 14:45 of an hourly window: fifteen minutes left
    for _ in range(5):
        client.post(reverse("contributions:removal_new"), REMOVAL)
    response = client.post(reverse("contributions:removal_new"), REMOVAL)
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    page = response.content.decode().replace("\xa0", " ")
    assert "Trop de requêtes" in page
    assert "Vous avez envoyé trop de demandes de retrait en peu de temps." in page
    assert "Vous pourrez réessayer dans 15 minutes, à" in page

    english = client.post(reverse("contributions:removal_new"), REMOVAL, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 429
    page = english.content.decode().replace("\xa0", " ")
    assert "You have sent too many removal requests" in page
    assert "You can try again in 15 minutes, at" in page


def test_the_limit_ends_with_its_window(client, clock):
    for _ in range(5):
        assert client.post(reverse("contributions:removal_new"), REMOVAL).status_code == 200
    assert client.post(reverse("contributions:removal_new"), REMOVAL).status_code == 429
    clock.value += 3600
    assert client.post(reverse("contributions:removal_new"), REMOVAL).status_code == 200


def test_only_posts_are_counted(client):
    for _ in range(20):
        assert client.get(reverse("contributions:removal_new")).status_code == 200
    assert client.post(reverse("contributions:removal_new"), REMOVAL).status_code == 200


def test_abuse_reports_are_limited_per_member_and_per_address(client, member, other_member):
    corpus = published(UserFactory())
    client.force_login(member)
    url = reverse("contributions:data_report", args=[corpus.pk])
    report = {"reason": "copyright", "comment": "Mon livre"}
    # The finding: 30 reports in a row from one member were all accepted.
    statuses = [client.post(url, report).status_code for _ in range(30)]
    assert statuses == [302] * 10 + [429] * 20
    assert AbuseReport.objects.filter(reporter=member).count() == 10
    # Another address does not reset the member's count...
    assert client.post(url, report, REMOTE_ADDR="198.51.100.7").status_code == 429
    # ... nor another account the address's.
    client.force_login(other_member)
    assert client.post(url, report).status_code == 429
    # Someone else elsewhere is not concerned.
    assert client.post(url, report, REMOTE_ADDR="198.51.100.8").status_code == 302


def test_comments_are_limited(client, member, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": "3/m"}
    corpus = make_corpus(member)
    client.force_login(member)
    url = reverse("contributions:comment_post", args=[corpus.pk])
    statuses = [client.post(url, {"body": f"Remarque {n}"}).status_code for n in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert Comment.objects.filter(corpus=corpus).count() == 3


def test_separate_rates_per_address_and_per_account(client, member, other_member, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "comment": "3/h/ip,1/h/user"}
    client.force_login(member)
    url = reverse("contributions:comment_post", args=[make_corpus(member).pk])
    assert [client.post(url, {"body": "a"}).status_code for _ in range(2)] == [302, 429]
    client.force_login(other_member)
    url = reverse("contributions:comment_post", args=[make_corpus(other_member).pk])
    # The address has used 2 of its 3.
    assert [client.post(url, {"body": "b"}).status_code for _ in range(2)] == [302, 429]


def test_forwarded_for_is_ignored_without_a_trusted_proxy(client, settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    url = reverse("contributions:removal_new")
    for n in range(5):
        assert client.post(url, REMOVAL, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 200
    assert client.post(url, REMOVAL, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_behind_a_proxy_the_address_it_saw_counts(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    url = reverse("contributions:removal_new")
    # The client may put anything before the entry our proxy appends.
    for n in range(5):
        assert client.post(url, REMOVAL, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 192.0.2.1").status_code == 200
    assert client.post(url, REMOVAL, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.1").status_code == 429
    assert client.post(url, REMOVAL, HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 200


def test_ipv6_addresses_count_by_their_64_block(rf, settings):
    request = rf.post("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    other = rf.post("/", REMOTE_ADDR="2001:db8:1:2:bbbb::9")
    assert ratelimits.client_ip(request) == ratelimits.client_ip(other) == "2001:db8:1:2::"


def test_sign_up_is_limited_per_address_by_allauth(client, settings):
    assert allauth_settings.RATE_LIMITS["signup"] == "20/h/ip"
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/h/ip"}
    statuses = [
        client.post(reverse("account_signup"), {**SIGNUP, "email": f"new{n}@example.org"}).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    response = client.post(reverse("account_signup"), {**SIGNUP, "email": "new9@example.org"})
    page = html.unescape(response.content.decode())
    assert "Trop d'inscriptions sont venues de votre réseau" in page
    assert "dans 1 heure au plus tard" in page.replace("\xa0", " ")


def test_every_rate_limited_action_has_a_label():
    from django.conf import settings

    assert set(settings.RATE_LIMITS) <= set(ratelimits.LABELS)


def test_rates_are_read_per_address_and_per_account():
    assert ratelimits.rates_parse("5/h") == [ratelimits.Rate(5, 3600, "ip"), ratelimits.Rate(5, 3600, "user")]
    assert ratelimits.rates_parse("20/15m/ip") == [ratelimits.Rate(20, 900, "ip")]
    assert ratelimits.rates_parse("") == []
