"""The signed-in pages do bounded work: each asks the database the same
number of queries whether its lists hold 3 rows or 30 (or more than a page),
and each page shows at most a page of rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contributions import review
from contributions.models import (
    AccountEvent,
    Comment,
    Corpus,
    CorpusEvent,
    CorpusFile,
    CorpusStatus,
    Decision,
    JobStatus,
    Notification,
    Review,
    TrainingVersion,
)

from .corpora import FRENCH, METADATA, analysed, jsonl
from .factories import ReviewerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db

SIZES = [3, 30, 60]
PAGE = 50


def corpora(submitter, n: int, status: str = CorpusStatus.AWAITING_REVIEW, **fields) -> list[Corpus]:
    now = timezone.now()
    return Corpus.objects.bulk_create(
        Corpus(
            submitter=submitter, submitter_pseudonym=submitter.pseudonym, status=status, version=1,
            submitted_at=now - timedelta(minutes=n - i), documents=10 * i, words=100 * i, characters=600 * i,
            **{**METADATA, "title": f"Corpus {i}", **fields},
        )
        for i in range(n)
    )


def get(client, django_assert_max_num_queries, url: str, queries: int):
    with django_assert_max_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("n", SIZES)
def test_my_corpora(client, member, n, django_assert_max_num_queries):
    mine = corpora(member, n, status=CorpusStatus.DRAFT)
    CorpusFile.objects.bulk_create(
        CorpusFile(corpus=c, file=f"x/{c.pk}-{i}.txt", original_name=f"{i}.txt", format="txt", size=1, sha256="0")
        for c in mine for i in range(2)
    )
    signed_in(client, member)
    response = get(client, django_assert_max_num_queries, reverse("contributions:corpus_list"), 9)
    assert len(response.context["corpora"]) == min(n, PAGE)
    assert all(corpus.file_count == 2 for corpus in response.context["corpora"])


@pytest.mark.parametrize("n", SIZES)
def test_a_corpus_of_mine(client, member, n, django_assert_max_num_queries):
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    CorpusFile.objects.bulk_create(
        CorpusFile(corpus=corpus, file=f"x/{i}.txt", original_name=f"{i}.txt", format="txt", size=1, sha256="0")
        for i in range(n)
    )
    Comment.objects.bulk_create(
        Comment(corpus=corpus, author=member, author_pseudonym=member.pseudonym, body=f"message {i}") for i in range(n)
    )
    CorpusEvent.objects.bulk_create(
        CorpusEvent(corpus=corpus, actor=member, from_status="draft", to_status="submitted") for _ in range(n)
    )
    signed_in(client, member)
    response = get(
        client, django_assert_max_num_queries, reverse("contributions:corpus_detail", args=[corpus.pk]), 16
    )
    assert len(response.context["comments"]) == min(n, PAGE)
    # A long discussion shows its end.
    assert response.context["comments"][-1].body == f"message {n - 1}"


@pytest.mark.parametrize("n", SIZES)
def test_notifications(client, member, n, django_assert_max_num_queries):
    mine = corpora(member, n)
    Notification.objects.bulk_create(
        Notification(user=member, corpus=c, kind=Notification.Kind.RELEASED,
                     params={"title": c.title, "release": "r1", "documents": 3})
        for c in mine
    )
    signed_in(client, member)
    response = get(client, django_assert_max_num_queries, reverse("contributions:notifications"), 9)
    assert len(response.context["items"]) == min(n, PAGE)


@pytest.mark.parametrize("n", SIZES)
def test_review_queue(client, member, n, django_assert_max_num_queries):
    waiting = corpora(member, n)
    reviewers = [ReviewerFactory() for _ in range(2)]
    Review.objects.bulk_create(
        Review(corpus=c, corpus_version=1, reviewer=reviewers[0], decision=Decision.APPROVE) for c in waiting
    )
    signed_in(client, reviewers[1])
    response = get(client, django_assert_max_num_queries, reverse("contributions:review_queue"), 9)
    page = response.context["page"]
    assert len(page) == min(n, PAGE) and all(corpus.approvals == 1 for corpus in page)


@pytest.mark.parametrize("n", SIZES)
def test_review_page(client, member, n, django_assert_max_num_queries):
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    reviewers = [ReviewerFactory() for _ in range(2)]
    Comment.objects.bulk_create(
        Comment(corpus=corpus, author=member, author_pseudonym=member.pseudonym, body=f"message {i}") for i in range(n)
    )
    CorpusEvent.objects.bulk_create(
        CorpusEvent(corpus=corpus, actor=reviewers[0], from_status="draft", to_status="submitted") for _ in range(n)
    )
    Review.objects.bulk_create(
        Review(corpus=corpus, corpus_version=v, reviewer=reviewers[0], decision=Decision.REQUEST_CHANGES)
        for v in range(100, 100 + n)
    )
    signed_in(client, reviewers[1])
    # With the workbench's next corpus, guidelines, last bulk exclusion,
    # declared-versus-found warnings and the exclusions of the documents
    # shown: a fixed number, whatever the sizes.
    response = get(
        client, django_assert_max_num_queries, reverse("contributions:review_corpus", args=[corpus.pk]), 19
    )
    assert response.context["documents"]["total"] == len(FRENCH)


@pytest.mark.parametrize("n", SIZES)
def test_training_queue(client, member, maintainer, n, django_assert_max_num_queries):
    queued = corpora(member, n, status=CorpusStatus.QUEUED_FOR_TRAINING, languages=["fr", "en"])
    TrainingVersion.objects.bulk_create(
        TrainingVersion(corpus=c, corpus_version=1, status=JobStatus.DONE, documents=i, words=10 * i, characters=60 * i)
        for i, c in enumerate(queued)
    )
    # An older build of the same version does not count twice.
    TrainingVersion.objects.create(corpus=queued[0], corpus_version=1, status=JobStatus.DONE, documents=1000)
    signed_in(client, maintainer)
    response = get(client, django_assert_max_num_queries, reverse("contributions:training_queue"), 11)
    assert len(response.context["entries"]) == min(n, PAGE)
    documents = sum(range(1, n)) + 1000
    assert response.context["totals"]["language"] == [
        {"value": code, "documents": documents, "words": 10 * sum(range(1, n)), "characters": 60 * sum(range(1, n))}
        for code in ("en", "fr")
    ]
    html = response.content.decode()
    assert html.count('name="corpora"') == min(n, PAGE) + 1


@pytest.mark.parametrize("n", SIZES)
def test_reviewers_page(client, member, maintainer, n, django_assert_max_num_queries):
    settled = corpora(member, n, status=CorpusStatus.APPROVED)
    reviewers = [ReviewerFactory() for _ in range(3)]
    Review.objects.bulk_create(
        Review(corpus=c, corpus_version=1, reviewer=r, decision=Decision.APPROVE if j else Decision.REJECT)
        for c in settled for j, r in enumerate(reviewers)
    )
    signed_in(client, maintainer)
    response = get(client, django_assert_max_num_queries, reverse("contributions:reviewer_stats"), 10)
    stats = response.context["stats"]
    assert stats["units"] == n
    by_reviewer = {s["reviewer"]: s for s in stats["reviewers"]}
    assert by_reviewer[reviewers[0]]["agreement"] == 0.0 and by_reviewer[reviewers[1]]["agreement"] == 1.0
    units = [[Decision.REJECT, Decision.APPROVE, Decision.APPROVE]] * n
    assert stats["alpha"] == review.krippendorff_alpha([list(map(str, u)) for u in units])


@pytest.mark.parametrize("n", SIZES)
def test_roles_page(client, maintainer, n, django_assert_max_num_queries):
    members = [UserFactory(is_active=i % 2 == 0) for i in range(n)]
    AccountEvent.objects.bulk_create(
        AccountEvent(user=m, actor=maintainer, kind=AccountEvent.Kind.SUSPENDED, reason="spam")
        for m in members if not m.is_active
    )
    signed_in(client, maintainer)
    response = get(client, django_assert_max_num_queries, reverse("contributions:roles"), 9)
    assert len(response.context["page"]) == min(n + 1, PAGE)


# ---------------------------------------------------------------- what is cached stays exact


def test_the_reviewers_page_counts_a_new_decision_at_once(client, member, maintainer):
    waiting = corpora(member, 2)
    first, second = ReviewerFactory(), ReviewerFactory()
    Review.objects.create(corpus=waiting[0], corpus_version=1, reviewer=first, decision=Decision.APPROVE)
    signed_in(client, maintainer)
    stats = client.get(reverse("contributions:reviewer_stats")).context["stats"]
    assert [s["decisions"] for s in stats["reviewers"]] == [1]
    review.review_decide(corpus=waiting[1], reviewer=second, decision=Decision.REJECT, comment="Non.", reason="quality")
    stats = client.get(reverse("contributions:reviewer_stats")).context["stats"]
    assert {s["reviewer"]: s["decisions"] for s in stats["reviewers"]} == {first: 1, second: 1}
    # The rejection settled the second corpus: the outcome counts too.
    assert {s["reviewer"]: s["agreement"] for s in stats["reviewers"]}[second] == 1.0


def test_the_training_queue_totals_follow_a_corpus_leaving_it(client, member, maintainer):
    from contributions import lifecycle

    queued = corpora(member, 2, status=CorpusStatus.QUEUED_FOR_TRAINING)
    TrainingVersion.objects.bulk_create(
        TrainingVersion(corpus=c, corpus_version=1, status=JobStatus.DONE, documents=10, words=100, characters=600)
        for c in queued
    )
    signed_in(client, maintainer)
    response = client.get(reverse("contributions:training_queue"))
    assert response.context["totals"]["license"][0]["documents"] == 20
    assert response.context["page"].paginator.count == 2
    lifecycle.corpus_transition(corpus_id=queued[0].id, to=CorpusStatus.RELEASED, actor=maintainer)
    response = client.get(reverse("contributions:training_queue"))
    assert response.context["totals"]["license"][0]["documents"] == 10
    assert response.context["page"].paginator.count == 1


# ---------------------------------------------------------------- the release form scales


def _ready(member, n: int) -> list[Corpus]:
    queued = corpora(member, n, status=CorpusStatus.QUEUED_FOR_TRAINING)
    TrainingVersion.objects.bulk_create(
        TrainingVersion(corpus=c, corpus_version=1, status=JobStatus.DONE, documents=1) for c in queued
    )
    return queued


def test_the_release_form_takes_every_ready_corpus_when_none_is_named(client, member, maintainer):
    from contributions.models import Release

    queued = _ready(member, 3)
    draft = corpora(member, 1, status=CorpusStatus.DRAFT)[0]
    signed_in(client, maintainer)
    response = client.post(reverse("contributions:training_queue"), {"version": "r1", "corpora": ""})
    assert response.status_code == 302
    assert set(Release.objects.get(version="r1").corpora.all()) == set(queued)
    assert draft not in Release.objects.get(version="r1").corpora.all()


def test_the_release_form_takes_typed_and_ticked_numbers_and_refuses_others(client, member, maintainer):
    from contributions.models import Release

    queued = _ready(member, 3)
    draft = corpora(member, 1, status=CorpusStatus.DRAFT)[0]
    signed_in(client, maintainer)
    url = reverse("contributions:training_queue")
    for bad in ["12x", f"{queued[0].pk}, {draft.pk}", "²"]:
        response = client.post(url, {"version": "r1", "corpora": bad}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200 and response.context["form"].errors["corpora"]
    assert not Release.objects.exists()
    # A number typed in the box and one ticked in the table.
    client.post(url, {"version": "r2", "corpora": [f"{queued[0].pk}, ", str(queued[1].pk)]})
    assert set(Release.objects.get(version="r2").corpora.all()) == {queued[0], queued[1]}
