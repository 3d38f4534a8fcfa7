"""The signed-in lists kept rendered in the cache (contributions.fragments):
a change shows at the next visit, and nobody sees another member's copy."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from contributions import accounts, review, submissions
from contributions.models import Decision, Notification, Role

from .corpora import FRENCH, add_file, analysed, jsonl, make_corpus
from .factories import ReviewerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def get(client: Client, name: str, **query: str) -> str:
    response = client.get(reverse(f"contributions:{name}"), query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_my_corpora_shows_an_edit_at_the_next_visit(client, member):
    corpus = make_corpus(member, title="Premier titre")
    signed_in(client, member)
    assert "Premier titre" in get(client, "corpus_list")
    submissions.corpus_update(corpus=corpus, actor=member, title="Titre corrigé")
    page = get(client, "corpus_list")
    assert "Titre corrigé" in page and "Premier titre" not in page


def test_a_member_never_sees_the_list_another_member_had(client, member, other_member):
    make_corpus(member, title="Le corpus de la première")
    signed_in(client, member)
    assert "Le corpus de la première" in get(client, "corpus_list")
    make_corpus(other_member, title="Le corpus de la seconde")
    other = Client()
    signed_in(other, other_member)
    page = get(other, "corpus_list")
    assert "Le corpus de la seconde" in page and "Le corpus de la première" not in page


def test_notifications_show_a_new_one_and_their_reading_at_the_next_visit(client, maintainer, member):
    signed_in(client, member)
    assert "No notification." in get(client, "notifications")
    accounts.role_set(actor=maintainer, user=member, role=Role.REVIEWER)
    page = get(client, "notifications")
    assert 'class="unread"' in page and "No notification." not in page
    client.post(reverse("contributions:notifications"))
    assert Notification.objects.filter(user=member, read_at__isnull=True).count() == 0
    assert 'class="unread"' not in get(client, "notifications")


def test_review_queue_shows_an_approval_and_a_new_corpus_at_the_next_visit(client, member, reviewer):
    corpus, _ = analysed(member, [("a.jsonl", jsonl(*FRENCH))], title="Premier en attente")
    signed_in(client, reviewer)
    page = get(client, "review_queue")
    assert "Premier en attente" in page and "0 / 2" in page
    review.review_decide(corpus=corpus, reviewer=ReviewerFactory(), decision=Decision.APPROVE)
    assert "1 / 2" in get(client, "review_queue")
    analysed(member, [("b.jsonl", jsonl(*FRENCH[:2]))], title="Second en attente")
    assert "Second en attente" in get(client, "review_queue")


def test_reviewers_page_shows_a_decision_at_the_next_visit(client, member, maintainer):
    corpus, _ = analysed(member, [("a.jsonl", jsonl(*FRENCH))], title="Corpus à décider")
    signed_in(client, maintainer)
    assert "Corpus à décider" not in get(client, "reviewer_stats")
    review.review_decide(corpus=corpus, reviewer=ReviewerFactory(email="decideuse@example.org"),
                         decision=Decision.REQUEST_CHANGES, comment="Précisez la source.")
    page = get(client, "reviewer_stats")
    assert "Corpus à décider" in page and "decideuse@example.org" in page


def test_roles_page_shows_a_role_change_and_a_new_member_at_the_next_visit(client, maintainer, member):
    signed_in(client, maintainer)
    row = re.compile(rf'<select id="role-{member.pk}" name="role">.*?</select>', re.S)
    assert '<option value="member" selected>' in row.search(get(client, "roles")).group()
    accounts.role_set(actor=maintainer, user=member, role=Role.REVIEWER)
    assert '<option value="reviewer" selected>' in row.search(get(client, "roles")).group()
    UserFactory(email="nouvelle@example.org")
    assert "nouvelle@example.org" in get(client, "roles")


def test_roles_forms_work_from_every_browser_of_a_maintainer(maintainer, member):
    # The rows' forms carry CSRF tokens: a copy rendered for one browser
    # must never be served to another, whose secret is not the same.
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    for browser in (first, second):
        signed_in(browser, maintainer)
    get(first, "roles")
    page = get(second, "roles")
    url = reverse("contributions:role_update", args=[member.pk])
    token = re.search(rf'action="{url}".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S).group(1)
    response = second.post(url, {"role": "reviewer", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.REVIEWER


def test_training_queue_keeps_the_picked_corpora_of_a_refused_form(client, maintainer):
    signed_in(client, maintainer)
    get(client, "training_queue")
    response = client.post(reverse("contributions:training_queue"), {"corpora": ["999999"]},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Nothing waits for a release." in response.content.decode()


def test_review_page_shows_exclusions_comments_and_decisions_at_the_next_visit(client, member, reviewer):
    corpus, _ = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    signed_in(client, reviewer)
    url = reverse("contributions:review_corpus", args=[corpus.pk])

    def page() -> str:
        return client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Nothing excluded." in page() and "Record my decision" in page()
    exclusion = review.exclusion_add(corpus=corpus, reviewer=reviewer, kind="document", value="1")
    assert "Nothing excluded." not in page()
    review.exclusion_remove(corpus=corpus, reviewer=reviewer, exclusion_id=exclusion.pk)
    assert "Nothing excluded." in page()
    review.comment_post(corpus=corpus, author=member, body="Voici la source du texte.")
    assert "Voici la source du texte." in page()
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.APPROVE)
    assert "Record my decision" not in page() and "You have decided on this version." in page()


def test_corpus_page_shows_files_comments_and_edits_at_the_next_visit(client, member):
    corpus = make_corpus(member, title="Titre d'origine")
    signed_in(client, member)
    url = reverse("contributions:corpus_detail", args=[corpus.pk])

    def page() -> str:
        return client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "No file yet." in page()
    add_file(corpus, "discours.jsonl", jsonl(*FRENCH))
    assert "discours.jsonl" in page()
    review.comment_post(corpus=corpus, author=member, body="Une précision sur la collecte.")
    assert "Une précision sur la collecte." in page()
    submissions.corpus_update(corpus=corpus, actor=member, title="Titre corrigé")
    assert "Titre corrigé" in page() and "Titre d&#x27;origine" not in page()


def test_the_header_counts_unread_notifications_with_the_page_state(
    client, maintainer, member, django_assert_num_queries
):
    make_corpus(member)
    signed_in(client, member)
    get(client, "corpus_list")
    accounts.role_set(actor=maintainer, user=member, role=Role.REVIEWER)
    # Session, member, then the state of the list and the unread count in one
    # query: the list is the one kept in the cache, the count is new.
    with django_assert_num_queries(3):
        page = get(client, "corpus_list")
    assert '<span class="badge warning">1<span class="visually-hidden"> unread notification</span>' in page


def test_the_header_kept_per_language_and_role_never_shows_another_ones_links(client, maintainer, member):
    signed_in(client, maintainer)
    roles_link = f'href="{reverse("contributions:roles")}"'
    assert roles_link in get(client, "dashboard")
    other = Client()
    signed_in(other, member)
    page = get(other, "dashboard")
    assert roles_link not in page and f'href="{reverse("contributions:corpus_list")}"' in page
    french = other.get(reverse("contributions:dashboard"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Mes corpus" in french and "My corpora" not in french
    anonymous = Client().get(reverse("contributions:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{reverse("account_login")}"' in anonymous and 'href="/dashboard/"' not in anonymous
