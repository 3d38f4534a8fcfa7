"""The reviewers' workbench: claims, the next corpus, the guidelines, bulk
exclusions and their undo, the page's order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from contributions import review
from contributions.models import Corpus, CorpusStatus, Decision, Exclusion, Review, ReviewGuidelines

from .corpora import FRENCH, analysed, jsonl
from .factories import MaintainerFactory, ReviewerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def waiting(user, *docs: str, title: str = "Corpus"):
    corpus, _run = analysed(user, [("a.jsonl", jsonl(*(docs or FRENCH)))], title=title)
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    return corpus


def page(client, corpus, **params) -> str:
    response = client.get(reverse("contributions:review_corpus", args=[corpus.pk]), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


# ---------------------------------------------------------------- claims


def test_a_claim_is_seen_by_another_reviewer_and_hides_the_corpus_from_their_queue_on_request(client, member):
    first, second = ReviewerFactory(display_name="Alice", public_profile=True), ReviewerFactory()
    corpus, other = waiting(member, title="Claimed"), waiting(member, title="Free")
    review.corpus_claim(corpus=corpus, reviewer=first)

    signed_in(client, second)
    assert "Alice is reviewing this corpus" in page(client, corpus)
    queue = reverse("contributions:review_queue")
    listed = client.get(queue, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Claimed" in listed and "Alice" in listed
    hidden = client.get(queue, {"hide_claimed": "1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Claimed" not in hidden and "Free" in hidden
    with pytest.raises(ValidationError, match="Another reviewer is already on this corpus"):
        review.corpus_claim(corpus=corpus, reviewer=second)
    assert review.review_next(reviewer=second) == other


def test_a_claim_expires_and_can_be_renewed_or_given_up(member, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    first, second = ReviewerFactory(), ReviewerFactory()
    corpus = waiting(member)
    before = timezone.now()
    corpus = review.corpus_claim(corpus=corpus, reviewer=first)
    assert before + timedelta(minutes=29) < corpus.claim_expires_at <= timezone.now() + timedelta(minutes=30)
    Corpus.objects.filter(pk=corpus.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    assert review.review_next(reviewer=second) == corpus  # an expired claim holds nothing
    assert review.corpus_claim(corpus=corpus, reviewer=second).claimed_by == second
    review.corpus_claim_release(corpus=corpus, reviewer=first)  # not first's any more: nothing happens
    corpus.refresh_from_db()
    assert corpus.claimed_by == second
    review.corpus_claim_release(corpus=corpus, reviewer=second)
    corpus.refresh_from_db()
    assert corpus.claimed_by is None and corpus.claim_expires_at is None


def test_a_decision_gives_the_claim_up(member):
    reviewer = ReviewerFactory()
    corpus = waiting(member)
    review.corpus_claim(corpus=corpus, reviewer=reviewer)
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.APPROVE)
    corpus.refresh_from_db()
    assert corpus.claimed_by is None


def test_a_reviewer_who_has_decided_cannot_keep_the_corpus_from_the_others(client, member, settings):
    settings.REVIEW_APPROVALS_REQUIRED = 2
    first, second = ReviewerFactory(), ReviewerFactory()
    corpus = waiting(member)
    review.review_decide(corpus=corpus, reviewer=first, decision=Decision.APPROVE)
    with pytest.raises(ValidationError) as refused:
        review.corpus_claim(corpus=corpus, reviewer=first)
    assert refused.value.code == "decided"
    assert review.review_next(reviewer=second) == corpus
    client.force_login(first)
    page = client.get(reverse("contributions:review_corpus", args=[corpus.pk])).content.decode()
    live = client.get(reverse("contributions:review_live", args=[corpus.pk])).json()["parts"]["review-claim"]
    assert "Je relis ce corpus" not in page and "Je relis ce corpus" not in live
    client.force_login(second)
    assert "Je relis ce corpus" in client.get(reverse("contributions:review_corpus", args=[corpus.pk])).content.decode()


def test_no_one_claims_their_own_corpus_or_one_that_is_not_waiting(member):
    reviewer = ReviewerFactory()
    own = waiting(reviewer)
    with pytest.raises(PermissionDenied):
        review.corpus_claim(corpus=own, reviewer=reviewer)
    corpus = waiting(member)
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.APPROVED)
    with pytest.raises(ValidationError, match="not waiting for review"):
        review.corpus_claim(corpus=corpus, reviewer=reviewer)


def test_the_claim_button_claims_and_the_live_part_shows_it(client, member):
    reviewer, other = ReviewerFactory(), ReviewerFactory(display_name="Bob", public_profile=True)
    corpus = waiting(member)
    signed_in(client, reviewer)
    response = client.post(reverse("contributions:review_claim", args=[corpus.pk]))
    assert response.status_code == 302
    corpus.refresh_from_db()
    assert corpus.claimed_by == reviewer
    assert "You are reviewing this corpus" in page(client, corpus)
    signed_in(client, other)
    live = client.get(reverse("contributions:review_live", args=[corpus.pk]), HTTP_ACCEPT_LANGUAGE="en").json()
    assert live["active"] is True and "is reviewing this corpus" in live["parts"]["review-claim"]


# ---------------------------------------------------------------- next corpus


def test_after_a_decision_the_reviewer_goes_on_to_the_next_corpus_of_their_queue(client, member):
    reviewer, other = ReviewerFactory(), ReviewerFactory()
    first, claimed, decided, following = (waiting(member, title=t) for t in ["1", "2", "3", "4"])
    review.corpus_claim(corpus=claimed, reviewer=other)
    review.review_decide(corpus=decided, reviewer=reviewer, decision=Decision.APPROVE)
    signed_in(client, reviewer)
    response = client.post(reverse("contributions:review_decide", args=[first.pk]), {"decision": "approve"})
    # Not the one another reviewer is on, nor the one already decided on.
    assert response.status_code == 302 and response.url == reverse("contributions:review_corpus", args=[following.pk])
    response = client.post(reverse("contributions:review_decide", args=[following.pk]), {"decision": "approve"})
    assert response.url == reverse("contributions:review_queue")


# ---------------------------------------------------------------- guidelines


def test_maintainers_publish_guidelines_in_versions_and_each_decision_records_its_version(client, member):
    maintainer, reviewer = MaintainerFactory(), ReviewerFactory()
    signed_in(client, maintainer)
    url = reverse("contributions:review_guidelines")
    assert client.post(url, {"body": "Check the **license**."}).status_code == 302
    body = "Check the license and <script>x</script> the source."
    assert client.post(url, {"body": body, "based_on": "1"}).status_code == 302
    assert list(ReviewGuidelines.objects.values_list("version", flat=True)) == [2, 1]
    response = client.post(url, {"body": body, "based_on": "2"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "Nothing changed" in response.content.decode()
    # Edited from version 1 while version 2 came out: not published over it unseen.
    response = client.post(url, {"body": "Approve quickly.", "based_on": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Another maintainer published version 2 meanwhile" in response.content.decode()
    response = client.post(url, {"body": "\u200b \n", "based_on": "2"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "The guidelines are empty" in response.content.decode()

    corpus = waiting(member)
    signed_in(client, reviewer)
    html = page(client, corpus)
    assert "Reviewing guidelines (version 2)" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert client.post(url, {"body": "Approve everything.", "based_on": "2"}).status_code == 403
    assert ReviewGuidelines.objects.count() == 2
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.APPROVE)
    assert Review.objects.get(corpus=corpus).guidelines_version == 2
    versions = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Version 2, in force since" in versions and "Version 1, of" in versions


# ---------------------------------------------------------------- bulk exclusions

EMAIL = "Écrire à jeanne.martin@exemple.fr pour toute question sur ce texte."


def test_a_reviewer_excludes_every_document_a_filter_finds_in_one_step_and_undoes_it(client, member, settings):
    # Thirty documents, every third with an email address: more than one page of the review page.
    texts = [f"{FRENCH[i % len(FRENCH)]} Numéro {i}." + (f" {EMAIL}" if i % 3 == 0 else "") for i in range(60)]
    corpus = waiting(member, *texts)
    reviewer = ReviewerFactory()
    signed_in(client, reviewer)
    url = reverse("contributions:review_exclude_bulk", args=[corpus.pk])
    client.post(url, {"scope": "filter", "pii": "1"})
    excluded = set(Exclusion.objects.filter(corpus=corpus).values_list("value", flat=True))
    assert excluded == {str(i) for i in range(0, 60, 3)}
    html = page(client, corpus)
    assert "Your last bulk exclusion: 20 documents." in html

    # The ones ticked, some already excluded: only the new ones belong to this step.
    client.post(url, {"scope": "selected", "document": ["1", "3", "999999", "x"]})
    assert Exclusion.objects.filter(corpus=corpus).count() == 21
    assert "Your last bulk exclusion: 1 document." in page(client, corpus)
    batch = review.exclusion_bulk_last(corpus=corpus, reviewer=reviewer)["batch"]
    client.post(url, {"undo": batch})
    assert Exclusion.objects.filter(corpus=corpus).count() == 20 and not Exclusion.objects.filter(value="1").exists()
    batch = review.exclusion_bulk_last(corpus=corpus, reviewer=reviewer)["batch"]
    client.post(url, {"undo": batch})
    assert not Exclusion.objects.filter(corpus=corpus).exists()


def test_a_bulk_exclusion_needs_a_filter_or_a_selection(client, member):
    corpus = waiting(member)
    reviewer = ReviewerFactory()
    with pytest.raises(ValidationError, match="Filter the documents first"):
        review.exclusion_bulk_add(corpus=corpus, reviewer=reviewer)
    with pytest.raises(ValidationError, match="No document selected"):
        review.exclusion_bulk_add(corpus=corpus, reviewer=reviewer, documents=[])
    with pytest.raises(ValidationError, match="No document selected"):
        review.exclusion_bulk_add(corpus=corpus, reviewer=reviewer, query="introuvable")
    signed_in(client, reviewer)
    response = client.post(reverse("contributions:review_exclude_bulk", args=[corpus.pk]), {"scope": "filter"},
                           follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Filter the documents first" in response.content.decode()
    assert not Exclusion.objects.exists()


def test_a_bulk_exclusion_has_a_ceiling(member, settings):
    settings.REVIEW_BULK_EXCLUDE_MAX = 2
    corpus = waiting(member, *[f"{FRENCH[0]} Numéro {i}." for i in range(3)])
    with pytest.raises(ValidationError, match="More than 2 documents at once"):
        review.exclusion_bulk_add(corpus=corpus, reviewer=ReviewerFactory(), query="numéro")
    assert not Exclusion.objects.exists()


def test_the_submitter_cannot_bulk_exclude_in_their_own_corpus(member):
    corpus = waiting(member)
    with pytest.raises(PermissionDenied):
        review.exclusion_bulk_add(corpus=corpus, reviewer=member, documents=[0])
    with pytest.raises(PermissionDenied):
        review.exclusion_bulk_add(corpus=corpus, reviewer=UserFactory(), documents=[0])


# ---------------------------------------------------------------- the page


def test_the_material_comes_before_the_decision(client, member):
    corpus = waiting(member, FRENCH[0], f"{FRENCH[1]} {EMAIL}")
    signed_in(client, ReviewerFactory())
    html = page(client, corpus)
    order = [html.index(s) for s in ["What the analysis found", 'id="documents-title"', 'id="decision-title"']]
    assert order == sorted(order)
    assert "Keyboard shortcuts" in html
    # Counted right (it once said "-19 pieces"), in a document marked as French for screen readers.
    assert "1 piece of personal data found" in html and "-19 piece" not in html
    assert '<div class="text" lang="fr">' in html


ENGLISH = [
    "The town council met on Tuesday evening to discuss the budget of the school and the repairs of its roof.",
    "The library now offers reading workshops for children on Wednesday afternoons, in the limit of the seats.",
]


def test_the_page_says_in_plain_words_what_the_analysis_contradicts_in_the_declaration(client, member):
    corpus, _run = analysed(
        member, [("a.jsonl", jsonl(FRENCH[0], f"{FRENCH[1]} {EMAIL}", *ENGLISH))],
        languages=["fr"], may_contain_personal_data=False, license="CC-BY-NC-4.0",
    )
    signed_in(client, ReviewerFactory())
    html = page(client, corpus)
    assert "The submitter declared no personal data, yet the analysis found some" in html
    assert "50.0 % of the documents are in languages that were not declared (English (en))." in html
    assert "Non-commercial license" in html

    declared, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))], languages=["fr"])
    html = page(client, declared)
    assert "declared no personal data" not in html and "not declared" not in html


def test_two_maintainers_publishing_at_once_get_a_message_not_an_error(monkeypatch):
    from django.db import IntegrityError

    first, second = MaintainerFactory(), MaintainerFactory()
    review.guidelines_publish(author=first, body="v1", based_on=None)

    def published_meanwhile(**fields):
        raise IntegrityError("duplicate key value violates unique constraint (version)=(2)")

    # What the database says when another maintainer's version 2 committed between the read and the write.
    monkeypatch.setattr(ReviewGuidelines.objects, "create", published_meanwhile)
    with pytest.raises(ValidationError, match="Another maintainer published a version meanwhile"):
        review.guidelines_publish(author=second, body="v2", based_on=1)


def test_a_deleted_reviewers_claim_holds_nothing(member):
    from contributions import accounts

    gone, other = ReviewerFactory(), ReviewerFactory()
    corpus = waiting(member)
    review.corpus_claim(corpus=corpus, reviewer=gone)
    accounts.user_delete(user=gone)
    assert review.review_next(reviewer=other) == corpus
    assert list(review.review_queue(reviewer=other, hide_claimed=True)) == [corpus]
    assert review.corpus_claim(corpus=corpus, reviewer=other).claimed_by == other


def test_a_claim_ends_when_the_corpus_leaves_the_review(member):
    first, second = ReviewerFactory(), ReviewerFactory()
    corpus = waiting(member)
    review.corpus_claim(corpus=corpus, reviewer=first)
    review.review_decide(corpus=corpus, reviewer=second, decision=Decision.REQUEST_CHANGES, comment="Menus.")
    corpus.refresh_from_db()
    assert corpus.claimed_by is None and corpus.claim_expires_at is None


def test_no_exclusion_lands_after_the_approval(member):
    reviewer, maintainer = ReviewerFactory(), MaintainerFactory()
    corpus = waiting(member)
    stale = Corpus.objects.get(pk=corpus.pk)  # the page was opened before the approval
    review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    with pytest.raises(ValidationError, match="waits for review"):
        review.exclusion_bulk_add(corpus=stale, reviewer=reviewer, documents=[0])
    with pytest.raises(ValidationError, match="waits for review"):
        review.exclusion_add(corpus=stale, reviewer=reviewer, kind=Exclusion.Kind.DOCUMENT, value="1")
    assert not Exclusion.objects.exists()


def test_a_blank_query_is_no_filter_for_a_bulk_exclusion(client, member):
    corpus = waiting(member)
    signed_in(client, ReviewerFactory())
    client.post(reverse("contributions:review_exclude_bulk", args=[corpus.pk]), {"scope": "filter", "q": "   "})
    assert not Exclusion.objects.exists()


def test_a_document_excluded_can_be_put_back(client, member):
    corpus = waiting(member)
    signed_in(client, ReviewerFactory())
    url = reverse("contributions:review_exclude", args=[corpus.pk])
    client.post(url, {"kind": "document", "value": "1"})
    exclusion = Exclusion.objects.get(corpus=corpus)
    assert f'name="remove" value="{exclusion.pk}"' in page(client, corpus)
    client.post(url, {"kind": "document", "remove": str(exclusion.pk)})
    assert not Exclusion.objects.exists()


def test_a_reviewer_undoes_only_their_own_bulk_exclusions(member):
    first, second = ReviewerFactory(), ReviewerFactory()
    corpus = waiting(member)
    batch, _count = review.exclusion_bulk_add(corpus=corpus, reviewer=first, documents=[0, 1])
    assert review.exclusion_bulk_undo(corpus=corpus, reviewer=second, batch=batch) == 0
    assert Exclusion.objects.count() == 2


def test_after_a_clash_the_maintainer_publishes_on_the_version_now_shown(client):
    first, second = MaintainerFactory(), MaintainerFactory()
    review.guidelines_publish(author=first, body="v1", based_on=None)
    review.guidelines_publish(author=first, body="v2", based_on=1)
    signed_in(client, second)
    url = reverse("contributions:review_guidelines")
    response = client.post(url, {"body": "mine", "based_on": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "Another maintainer published version 2 meanwhile" in html
    assert 'name="based_on" value="2"' in html and ">\nmine</textarea>" in html
    assert client.post(url, {"body": "mine", "based_on": "2"}).status_code == 302
    assert review.guidelines_current().body == "mine"
