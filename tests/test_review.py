from __future__ import annotations

import threading

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from contributions import lifecycle, moderation, notifications, review, submissions
from contributions.jobs import job_run
from contributions.models import (
    AbuseReport,
    CorpusEvent,
    CorpusStatus,
    Decision,
    Exclusion,
    JobStatus,
    Notification,
    OutgoingEmail,
    Review,
    TrainingVersion,
)

from .corpora import FRENCH, analysed, jsonl, make_corpus
from .factories import ReviewerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db

S = CorpusStatus


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def waiting(user, *docs: str):
    corpus, run = analysed(user, [("a.jsonl", jsonl(*(docs or FRENCH)))])
    assert corpus.status == S.AWAITING_REVIEW
    return corpus


def training_rows(version: TrainingVersion) -> list[dict]:
    rows = []
    for name in version.shards:
        with default_storage.open(name, "rb") as handle:
            rows.extend(pq.read_table(handle).to_pylist())
    return sorted(rows, key=lambda r: r["doc_index"])


# ---------------------------------------------------------------- lifecycle

PAIRS = [(a, b) for a in S for b in S if a != b]

# Written by hand from the review rules, never read from lifecycle.TRANSITIONS:
# a change there that nobody meant makes this table disagree.
ALLOWED = {
    (S.DRAFT, S.SUBMITTED), (S.DRAFT, S.WITHDRAWN),
    (S.SUBMITTED, S.PROCESSING), (S.SUBMITTED, S.AWAITING_REVIEW), (S.SUBMITTED, S.FAILED),
    (S.SUBMITTED, S.DRAFT), (S.SUBMITTED, S.WITHDRAWN),
    (S.PROCESSING, S.AWAITING_REVIEW), (S.PROCESSING, S.FAILED), (S.PROCESSING, S.DRAFT),
    (S.PROCESSING, S.WITHDRAWN),
    (S.AWAITING_REVIEW, S.APPROVED), (S.AWAITING_REVIEW, S.CHANGES_REQUESTED), (S.AWAITING_REVIEW, S.REJECTED),
    (S.AWAITING_REVIEW, S.DRAFT), (S.AWAITING_REVIEW, S.WITHDRAWN),
    (S.FAILED, S.SUBMITTED), (S.FAILED, S.DRAFT), (S.FAILED, S.WITHDRAWN),
    (S.CHANGES_REQUESTED, S.SUBMITTED), (S.CHANGES_REQUESTED, S.DRAFT), (S.CHANGES_REQUESTED, S.WITHDRAWN),
    (S.APPROVED, S.QUEUED_FOR_TRAINING), (S.APPROVED, S.WITHDRAWN),
    (S.QUEUED_FOR_TRAINING, S.RELEASED), (S.QUEUED_FOR_TRAINING, S.WITHDRAWN),
    (S.RELEASED, S.WITHDRAWN),
}


@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{a.value}->{b.value}" for a, b in PAIRS])
def test_transitions_follow_the_table(member, start, target):
    corpus = make_corpus(member)
    corpus.status = start
    corpus.save()
    allowed = (start, target) in ALLOWED
    if allowed:
        lifecycle.corpus_transition(corpus_id=corpus.id, to=target, actor=member, comment="pourquoi")
        corpus.refresh_from_db()
        assert corpus.status == target
        event = CorpusEvent.objects.get(corpus=corpus)
        assert (event.from_status, event.to_status, event.actor, event.comment) == (start, target, member, "pourquoi")
    else:
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.corpus_transition(corpus_id=corpus.id, to=target, actor=member)
        corpus.refresh_from_db()
        assert corpus.status == start
        assert not CorpusEvent.objects.filter(corpus=corpus).exists()


def test_the_whole_path_is_in_the_audit_trail(client, member):
    corpus = waiting(member)
    client.force_login(member)
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    steps = list(CorpusEvent.objects.filter(corpus=corpus).values_list("from_status", "to_status"))
    assert steps == [(S.DRAFT, S.SUBMITTED), (S.SUBMITTED, S.PROCESSING), (S.PROCESSING, S.AWAITING_REVIEW)]
    assert "En attente de relecture" in html or "Awaiting review" in html


# ---------------------------------------------------------------- decisions


def test_reviewer_cannot_review_own_corpus(client, reviewer):
    corpus = waiting(reviewer)
    with pytest.raises(PermissionDenied):
        review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.APPROVE)
    client.force_login(reviewer)
    assert client.get(reverse("contributions:review_corpus", args=[corpus.pk])).status_code == 403
    response = client.post(reverse("contributions:review_decide", args=[corpus.pk]), {"decision": "approve"})
    assert response.status_code == 403
    assert not Review.objects.exists()
    assert corpus not in review.review_queue(reviewer=reviewer)


def test_members_cannot_decide(member, other_member):
    corpus = waiting(member)
    with pytest.raises(PermissionDenied):
        review.review_decide(corpus=corpus, reviewer=other_member, decision=Decision.APPROVE)


def test_two_distinct_approvals_are_needed_by_default(member, django_capture_on_commit_callbacks):
    corpus = waiting(member)
    first, second = ReviewerFactory(), ReviewerFactory()
    corpus = review.review_decide(corpus=corpus, reviewer=first, decision=Decision.APPROVE)
    assert corpus.status == S.AWAITING_REVIEW and corpus.review_started_at is not None
    with pytest.raises(ValidationError, match="already decided"):
        review.review_decide(corpus=corpus, reviewer=first, decision=Decision.APPROVE)
    corpus = review.review_decide(corpus=corpus, reviewer=second, decision=Decision.APPROVE)
    assert corpus.status == S.APPROVED
    assert TrainingVersion.objects.get(corpus=corpus).status == JobStatus.QUEUED


def test_a_maintainer_settles_alone(member, maintainer):
    corpus = review.review_decide(corpus=waiting(member), reviewer=maintainer, decision=Decision.APPROVE)
    assert corpus.status == S.APPROVED


def test_approvals_required_comes_from_settings(member, reviewer, settings):
    settings.REVIEW_APPROVALS_REQUIRED = 1
    assert review.review_decide(corpus=waiting(member), reviewer=reviewer, decision="approve").status == S.APPROVED


def test_request_changes_needs_a_comment_and_the_submitter_resubmits(member, reviewer):
    corpus = waiting(member)
    with pytest.raises(ValidationError, match="comment"):
        review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.REQUEST_CHANGES)
    corpus = review.review_decide(
        corpus=corpus, reviewer=reviewer, decision=Decision.REQUEST_CHANGES, comment="Retirez les noms propres."
    )
    assert corpus.status == S.CHANGES_REQUESTED and corpus.status_reason == "Retirez les noms propres."
    # The submitter is told, in the site and by email.
    assert Notification.objects.filter(user=member, corpus=corpus).exists()
    assert OutgoingEmail.objects.filter(to=member.email).exists()
    # The submitter edits and submits again; the review starts over.
    from .corpora import add_file

    add_file(corpus, "b.jsonl", jsonl("Un document ajouté après la relecture, avec jeanne@exemple.fr."))
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    from contributions.jobs import job_run

    job_run("analysis", run.id)
    corpus.refresh_from_db()
    assert corpus.status == S.AWAITING_REVIEW and corpus.version == 2
    changes = review.corpus_changes(corpus=corpus)
    assert changes["documents"] == 1 and changes["files_added"] == ["b.jsonl"]
    assert changes["personal_data"]["email"] == 1
    # The reviewer may decide again on the new version.
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.APPROVE)


def test_rejection_needs_a_reason_and_ends_the_review(member, reviewer):
    corpus = waiting(member)
    with pytest.raises(ValidationError, match="reason"):
        review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.REJECT, comment="Non.")
    corpus = review.review_decide(
        corpus=corpus, reviewer=reviewer, decision=Decision.REJECT, comment="Droits douteux.", reason="rights"
    )
    assert corpus.status == S.REJECTED
    with pytest.raises(ValidationError, match="not waiting"):
        review.review_decide(corpus=corpus, reviewer=ReviewerFactory(), decision=Decision.APPROVE)
    with pytest.raises(ValidationError):
        submissions.corpus_withdraw(corpus=corpus, actor=member)


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_leave_one_consistent_state(member, settings):
    settings.REVIEW_APPROVALS_REQUIRED = 1
    corpus = waiting(member)
    approver, rejecter = ReviewerFactory(), ReviewerFactory()
    barrier = threading.Barrier(2)
    outcomes = {}

    def decide(reviewer, decision, **extra):
        barrier.wait()
        try:
            outcomes[decision] = review.review_decide(corpus=corpus, reviewer=reviewer, decision=decision, **extra)
        except ValidationError as exc:
            outcomes[decision] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(approver, Decision.APPROVE)),
        threading.Thread(target=decide, args=(rejecter, Decision.REJECT), kwargs={"comment": "Non", "reason": "other"}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    corpus.refresh_from_db()
    # Exactly one decision won; the other was refused, and the trail agrees.
    assert sum(isinstance(o, ValidationError) for o in outcomes.values()) == 1
    assert corpus.status in {S.APPROVED, S.REJECTED}
    assert Review.objects.filter(corpus=corpus).count() == 1
    last = CorpusEvent.objects.filter(corpus=corpus).last()
    assert last.to_status == corpus.status


# ---------------------------------------------------------------- queue and review page


def test_queue_oldest_first_without_own_corpora_and_with_approvals(client, member, reviewer):
    older = waiting(member, FRENCH[0])
    newer = waiting(UserFactory(), FRENCH[1])
    own = waiting(reviewer, FRENCH[2])
    review.review_decide(corpus=older, reviewer=ReviewerFactory(), decision=Decision.APPROVE)
    client.force_login(reviewer)
    response = client.get(reverse("contributions:review_queue"))
    listed = list(response.context["page"])
    assert [c.pk for c in listed] == [older.pk, newer.pk]
    assert own.pk not in [c.pk for c in listed]
    assert listed[0].approvals == 1 and listed[1].approvals == 0 and listed[0].documents == 1


def test_queue_filters(client, member, reviewer):
    french = waiting(member, FRENCH[0])
    legal = make_corpus(member, domain="legal", license="CC-BY-4.0", languages=["de"])
    legal.status = S.AWAITING_REVIEW
    legal.save()
    client.force_login(reviewer)
    url = reverse("contributions:review_queue")
    assert [c.pk for c in client.get(url, {"domain": "legal"}).context["page"]] == [legal.pk]
    assert [c.pk for c in client.get(url, {"license": "etalab-2.0"}).context["page"]] == [french.pk]
    assert [c.pk for c in client.get(url, {"language": "de"}).context["page"]] == [legal.pk]


def test_queue_size_filter_keeps_corpora_up_to_that_many_documents(client, member, reviewer):
    small = waiting(member, FRENCH[0])
    large = waiting(UserFactory(), *FRENCH)
    client.force_login(reviewer)
    url = reverse("contributions:review_queue")
    assert [c.pk for c in client.get(url, {"max_documents": "2"}).context["page"]] == [small.pk]
    assert [c.pk for c in client.get(url, {"max_documents": "3"}).context["page"]] == [small.pk, large.pk]
    assert [c.pk for c in client.get(url, {"max_documents": "tous"}).context["page"]] == [small.pk, large.pk]


def test_queue_query_count_does_not_grow(client, reviewer):
    signed_in(client, reviewer)
    for _ in range(2):
        waiting(UserFactory())
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("contributions:review_queue"))
    for _ in range(5):
        # Some taken by other reviewers: the queue names them.
        review.corpus_claim(corpus=waiting(UserFactory()), reviewer=ReviewerFactory())
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("contributions:review_queue"))
    assert len(response.context["page"]) == 7
    assert len(many) == len(few)


def test_review_page_documents_are_searchable_filterable_and_inert(client, member, reviewer):
    evil = '<script>alert("x")</script> Écrire à jeanne@exemple.fr. ' + FRENCH[0]
    corpus = waiting(member, evil, FRENCH[1], "Lorem ipsum dolor sit amet.")
    client.force_login(reviewer)
    url = reverse("contributions:review_corpus", args=[corpus.pk])
    html = client.get(url).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<mark class="pii pii-email" title="email">jeanne@exemple.fr</mark>' in html
    assert client.get(url, {"q": "bibliothèque"}).context["documents"]["total"] == 1
    assert client.get(url, {"flag": "lorem_ipsum"}).context["documents"]["total"] == 1
    assert client.get(url, {"pii": "1"}).context["documents"]["total"] == 1


def test_review_page_paginates_documents(client, member, reviewer):
    corpus = waiting(member, *[f"Document numéro {i}. " + FRENCH[i % 3] for i in range(45)])
    client.force_login(reviewer)
    url = reverse("contributions:review_corpus", args=[corpus.pk])
    page3 = client.get(url, {"page": 3}).context["documents"]
    assert page3["pages"] == 3 and [d["doc_index"] for d in page3["documents"]] == [40, 41, 42, 43, 44]


# ---------------------------------------------------------------- findings


def test_a_finding_at_character_20000_is_shown_to_the_reviewer(client, member, reviewer):
    filler = (" ".join(FRENCH) + "\n") * 80
    at = 20_000 + len(filler[20_000:].split("\n", 1)[0]) + 1  # a line of its own, past the first page
    text = filler[:at] + "Écrire à jeanne.martin@exemple.fr pour la suite.\n" + filler[at:]
    corpus = waiting(member, text)
    client.force_login(reviewer)
    with translation.override("en"):
        html = client.get(reverse("contributions:review_corpus", args=[corpus.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = html.content.decode()
    start = at + len("Écrire à ")
    line = text.count("\n", 0, start) + 1
    document_url = reverse("contributions:review_document", args=[corpus.pk, 0])
    assert "jeanne.martin@exemple.fr" not in html  # past the text shown, listed masked
    assert "An email address" in html and f"line {line:,}, character {start + 1:,}" in html
    assert "<code>j•••@e•••.fr</code>" in html
    assert f'href="{document_url}?page=2#finding-1"' in html
    assert "Read the whole of document #0" in html
    page = client.get(document_url, {"page": 2}).content.decode()
    assert '<mark class="pii pii-email" id="finding-1" tabindex="-1">jeanne.martin@exemple.fr</mark>' in page
    assert "jeanne.martin@exemple.fr" not in client.get(document_url).content.decode().split("<ol>")[-1]


def test_flags_are_shown_by_their_label_with_the_value_they_were_raised_on(client, member, reviewer):
    corpus = waiting(member, "Même ligne répétée.\n" * 30 + " ".join(FRENCH))
    client.force_login(reviewer)
    html = client.get(reverse("contributions:review_corpus", args=[corpus.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = html.content.decode()
    assert "many repeated lines <span class=\"measure\">(" in html
    assert ">repeated_lines<" not in html and "<code>repeated_lines</code>" not in html


def test_a_document_page_is_not_found_past_the_last_document(client, member, reviewer):
    corpus = waiting(member, FRENCH[0])
    client.force_login(reviewer)
    assert client.get(reverse("contributions:review_document", args=[corpus.pk, 5])).status_code == 404
    assert client.get(reverse("contributions:review_document", args=[corpus.pk, 0]), {"page": "x"}).status_code == 200


# ---------------------------------------------------------------- training-ready version


def test_exclusions_and_placeholders_reach_the_training_version(member, reviewer, maintainer):
    accepted = waiting(UserFactory(), "Un texte déjà accepté ailleurs, mot pour mot, dans un autre corpus.")
    accepted.status = S.QUEUED_FOR_TRAINING
    accepted.save()
    docs = [
        FRENCH[0] + " Contact : jeanne@exemple.fr, tél. 06 12 34 56 78.",
        FRENCH[1],
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
        FRENCH[2],
        "Un texte déjà accepté ailleurs, mot pour mot, dans un autre corpus.",
    ]
    corpus = waiting(member, *docs)
    review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.DOCUMENT, value="3")
    review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.FLAG, value="lorem_ipsum")
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_run("training", version.id)
    version.refresh_from_db()
    corpus.refresh_from_db()
    assert version.status == JobStatus.DONE and corpus.status == S.QUEUED_FOR_TRAINING
    rows = training_rows(version)
    assert [r["doc_index"] for r in rows] == [0, 1]
    assert rows[0]["text"].endswith("Contact : <EMAIL>, tél. <PHONE>.")
    assert rows[0]["personal_data_replaced"] == 2
    assert version.excluded == {"document": 1, "flag": 1, "accepted_duplicate": 1}
    assert version.documents == 2


def test_placeholders_replace_exactly_the_personal_items_and_nothing_else(member, maintainer):
    text = (
        FRENCH[0] + " Voir la RFC 2616 section 8.1.2.2, le masque 255.255.255.0 et l'exemple 192.0.2.10. "
        "Connexion suspecte depuis 82.64.123.45 hier. Écrire à jade.alglave@ens-\n   lyon.org avant lundi."
    )
    corpus = waiting(member, text)
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_run("training", version.id)
    version.refresh_from_db()
    [row] = training_rows(version)
    assert row["text"] == FRENCH[0] + (
        " Voir la RFC 2616 section 8.1.2.2, le masque 255.255.255.0 et l'exemple 192.0.2.10. "
        "Connexion suspecte depuis <IP> hier. Écrire à <EMAIL> avant lundi."
    )
    assert row["personal_data_replaced"] == 2


def test_excluding_personal_data_and_near_duplicates(member, reviewer, maintainer):
    long_text = " ".join(FRENCH * 3)
    corpus = waiting(member, long_text, long_text + " Une phrase de plus.", "Écrire à a@exemple.fr. " + FRENCH[0])
    review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.PERSONAL_DATA)
    review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.NEAR_DUPLICATES)
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_run("training", version.id)
    version.refresh_from_db()
    assert [r["doc_index"] for r in training_rows(version)] == [0]
    assert version.excluded == {"near_duplicate": 1, "personal_data": 1}


def test_removing_an_exclusion_keeps_the_document(client, member, reviewer, maintainer):
    corpus = waiting(member, *FRENCH)
    kept = review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.DOCUMENT, value="1")
    review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.DOCUMENT, value="2")
    client.force_login(reviewer)
    response = client.post(
        reverse("contributions:review_exclude", args=[corpus.pk]), {"kind": "document", "remove": str(kept.pk)}
    )
    assert response.status_code == 302
    assert list(corpus.exclusions.values_list("value", flat=True)) == ["2"]
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_run("training", version.id)
    version.refresh_from_db()
    assert [r["doc_index"] for r in training_rows(version)] == [0, 1] and version.excluded == {"document": 1}


def test_only_the_configured_kinds_of_personal_data_become_placeholders(member, maintainer, settings):
    settings.PII_PLACEHOLDER_KINDS = ["email"]
    corpus = waiting(member, FRENCH[0] + " Contact : jeanne@exemple.fr, tél. 06 12 34 56 78.")
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_run("training", version.id)
    version.refresh_from_db()
    [row] = training_rows(version)
    assert row["text"].endswith("Contact : <EMAIL>, tél. 06 12 34 56 78.") and row["personal_data_replaced"] == 1


def test_exclusions_are_for_reviewers_while_the_review_is_open(member, other_member, reviewer):
    corpus = waiting(member)
    with pytest.raises(PermissionDenied):
        review.exclusion_add(corpus=corpus, reviewer=other_member, kind=Exclusion.Kind.PERSONAL_DATA)
    with pytest.raises(ValidationError):
        review.exclusion_add(corpus=corpus, reviewer=reviewer, kind=Exclusion.Kind.DOCUMENT, value="x")


# ---------------------------------------------------------------- discussion, moderation, notifications


def test_discussion_between_submitter_and_reviewers(client, member, reviewer, other_member):
    corpus = waiting(member)
    client.force_login(reviewer)
    client.post(reverse("contributions:comment_post", args=[corpus.pk]), {"body": "D'où viennent ces textes ?"})
    client.force_login(member)
    client.post(reverse("contributions:comment_post", args=[corpus.pk]), {"body": "Des archives <b>publiques</b>."})
    assert [c.author_pseudonym for c in corpus.comments.all()] == [reviewer.pseudonym, member.pseudonym]
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "Des archives &lt;b&gt;publiques&lt;/b&gt;." in html
    assert Notification.objects.filter(user=member).count() == 1
    assert Notification.objects.filter(user=reviewer).count() == 1
    client.force_login(other_member)
    assert client.post(reverse("contributions:comment_post", args=[corpus.pk]), {"body": "x"}).status_code == 404


def test_member_reports_a_corpus_and_a_maintainer_unpublishes_it(client, member, other_member, maintainer):
    corpus = waiting(member)
    corpus.status = S.APPROVED
    corpus.save()
    client.force_login(other_member)
    client.post(reverse("contributions:data_report", args=[corpus.pk]), {"reason": "copyright", "comment": "Mon livre"})
    report = AbuseReport.objects.get()
    assert (report.reporter, report.reason, report.status) == (other_member, "copyright", "open")
    client.force_login(maintainer)
    assert "Mon livre" in client.get(reverse("contributions:reports_queue")).content.decode()
    client.post(reverse("contributions:report_resolve", args=[report.pk]), {"action": "unpublish"})
    corpus.refresh_from_db()
    report.refresh_from_db()
    assert corpus.status == S.WITHDRAWN and report.status == "unpublished" and report.handled_by == maintainer
    assert CorpusEvent.objects.filter(corpus=corpus, to_status=S.WITHDRAWN, actor=maintainer).exists()
    assert client.get(reverse("contributions:data_detail", args=[corpus.pk])).status_code == 404


def test_dismissing_a_report(member, other_member, maintainer):
    corpus = waiting(member)
    report = moderation.abuse_report(reporter=other_member, corpus=corpus, reason="offensive")
    moderation.abuse_resolve(report=report, maintainer=maintainer, action="dismiss")
    report.refresh_from_db()
    corpus.refresh_from_db()
    assert report.status == "dismissed" and corpus.status == S.AWAITING_REVIEW
    with pytest.raises(ValidationError):
        moderation.abuse_resolve(report=report, maintainer=maintainer, action="dismiss")


def test_suspended_account_is_signed_out_and_cannot_sign_in(client, member, maintainer):
    from .factories import PASSWORD

    client.force_login(member)
    moderation.user_suspend(actor=maintainer, user=member, reason="Spam répété.")
    member.refresh_from_db()
    assert not member.is_active
    assert client.get(reverse("contributions:profile")).status_code == 302
    client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_daily_digest_goes_to_reviewers_who_want_it(member, reviewer):
    quiet = ReviewerFactory(review_digest=False)
    own = ReviewerFactory()
    waiting(own)
    assert notifications.review_digest_send() == 1
    recipients = set(OutgoingEmail.objects.values_list("to", flat=True))
    assert reviewer.email in recipients and quiet.email not in recipients
    assert member.email not in recipients
    assert own.email not in recipients  # the only waiting corpus is their own


def test_notification_list_and_mark_read(client, member, reviewer):
    corpus = waiting(member)
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.REQUEST_CHANGES, comment="À revoir.")
    client.force_login(member)
    html = client.get(reverse("contributions:home")).content.decode()
    assert 'class="badge warning">1<' in html
    assert "À revoir." in client.get(reverse("contributions:notifications")).content.decode()
    client.post(reverse("contributions:notifications"))
    assert not Notification.objects.filter(user=member, read_at__isnull=True).exists()


# ---------------------------------------------------------------- agreement between reviewers


@pytest.mark.parametrize(
    ("units", "alpha"),
    [
        ([["a", "a"], ["b", "b"]], 1.0),
        ([["a", "b"], ["b", "a"]], -0.5),
        ([["a", "a"], ["a", "a"]], None),
        ([["a"]], None),
        # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability":
        # four observers, twelve units, missing values, nominal: 0.743.
        (
            [["1", "1", "1"], ["2", "2", "3", "2"], ["3", "3", "3", "3"], ["3", "3", "3", "3"], ["2", "2", "2", "2"],
             ["1", "2", "3", "4"], ["4", "4", "4", "4"], ["1", "1", "2", "1"], ["2", "2", "2", "2"],
             ["5", "5", "5"], ["1", "1"], ["3"]],
            0.7434,
        ),
    ],
)
def test_krippendorff_alpha(units, alpha):
    assert review.krippendorff_alpha(units) == alpha


def test_reviewer_agreement_for_maintainers(client, member, maintainer, settings):
    settings.REVIEW_MAINTAINER_SETTLES = False
    first, second = ReviewerFactory(), ReviewerFactory()
    agreed = waiting(member, FRENCH[0])
    review.review_decide(corpus=agreed, reviewer=first, decision=Decision.APPROVE)
    review.review_decide(corpus=agreed, reviewer=second, decision=Decision.APPROVE)
    split = waiting(member, FRENCH[1])
    review.review_decide(corpus=split, reviewer=first, decision=Decision.APPROVE)
    review.review_decide(corpus=split, reviewer=second, decision=Decision.REJECT, comment="Non", reason="quality")
    stats = review.reviewer_agreement()
    by_reviewer = {s["reviewer"]: s for s in stats["reviewers"]}
    assert by_reviewer[first]["decisions"] == 2 and by_reviewer[first]["agreement"] == 0.5
    assert by_reviewer[second]["agreement"] == 1.0
    assert stats["units"] == 2 and stats["alpha"] == 0.0
    client.force_login(maintainer)
    html = client.get(reverse("contributions:reviewer_stats")).content.decode()
    assert first.email in html and "Krippendorff" in html


def test_odd_numbers_in_forms_and_urls_are_refused_not_500(client, member, reviewer):
    corpus = waiting(member)
    client.force_login(reviewer)
    url = reverse("contributions:review_corpus", args=[corpus.pk])
    assert client.get(url, {"page": "²"}).status_code == 200
    assert client.get(reverse("contributions:review_queue"), {"max_documents": "²"}).status_code == 200
    assert client.get(reverse("contributions:review_queue"), {"max_documents": "9" * 40}).status_code == 200
    client.post(reverse("contributions:review_exclude", args=[corpus.pk]), {"kind": "document", "value": "²"})
    client.post(reverse("contributions:review_exclude", args=[corpus.pk]), {"kind": "document", "remove": "²"})
    assert not Exclusion.objects.exists()
    assert client.get(url).status_code == 200


def test_no_edit_once_a_reviewer_has_decided(member, reviewer):
    corpus = waiting(member)
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.APPROVE)
    with pytest.raises(lifecycle.TransitionRefused):
        lifecycle.corpus_transition(corpus_id=corpus.id, to=S.DRAFT, actor=member)
    with pytest.raises(ValidationError):
        submissions.corpus_withdraw(corpus=corpus, actor=member)
    from .corpora import add_file

    with pytest.raises(ValidationError):
        add_file(corpus, "b.txt", FRENCH[1])


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["pii=1", "flag=too_short"])
def test_review_page_filtered_to_no_document_shows_an_empty_list(client, member, reviewer, query):
    """A filter that keeps no row of a batch used to crash pyarrow's take()
    on an empty, untyped list of indices."""
    corpus, _run = analysed(member, [("a.txt", FRENCH[0])])
    signed_in(client, reviewer)
    response = client.get(reverse("contributions:review_corpus", args=[corpus.pk]) + "?" + query)
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_reviewer_on_their_own_corpus_is_told_the_real_reason(client, reviewer):
    corpus, _run = analysed(reviewer, [("a.txt", FRENCH[0])])
    signed_in(client, reviewer)
    response = client.get(reverse("contributions:review_corpus", args=[corpus.pk]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Vous ne pouvez pas relire votre propre corpus." in page
    assert "Votre rôle ne donne pas accès" not in page
    other = UserFactory()
    signed_in(client, other)
    assert "Votre rôle ne donne pas accès" in client.get(reverse("contributions:review_queue")).content.decode()
