"""Review: the queue, decisions by several reviewers, exclusions, discussion."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lifecycle, notifications
from .jobs import job_enqueue
from .models import (
    AnalysisRun,
    Comment,
    Corpus,
    CorpusStatus,
    Decision,
    Exclusion,
    JobStatus,
    Review,
    TrainingVersion,
    User,
)


def approvals_required() -> int:
    return settings.REVIEW_APPROVALS_REQUIRED


def review_queue(
    *, reviewer: User, language: str = "", domain: str = "", license: str = "", max_documents: int | None = None
) -> QuerySet[Corpus]:
    """Corpora waiting for review, oldest first, never the reviewer's own,
    each with ``approvals`` (given so far for its version)."""
    corpora = (
        Corpus.objects.filter(status=CorpusStatus.AWAITING_REVIEW)
        .exclude(submitter=reviewer)
        .annotate(
            approvals=Count(
                "reviews",
                filter=Q(reviews__decision=Decision.APPROVE, reviews__corpus_version=F("version")),
                distinct=True,
            ),
        )
        .order_by("submitted_at", "id")
    )
    if language:
        corpora = corpora.filter(languages__contains=[language]) if _json_contains() else corpora.filter(
            languages__icontains=f'"{language}"'
        )
    if domain:
        corpora = corpora.filter(domain=domain)
    if license:
        corpora = corpora.filter(license=license)
    if max_documents:
        corpora = corpora.filter(documents__lte=max_documents)
    return corpora


def _json_contains() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _check_reviewer(corpus: Corpus, reviewer: User) -> None:
    if not reviewer.is_reviewer:
        raise PermissionDenied
    if corpus.submitter_id == reviewer.id:
        raise PermissionDenied(_("You cannot review your own corpus."))


def review_decide(
    *, corpus: Corpus, reviewer: User, decision: str, comment: str = "", reason: str = ""
) -> Corpus:
    """Record one reviewer's decision on the current version and apply the
    policy: a rejection or a request for changes ends the review; approval
    needs REVIEW_APPROVALS_REQUIRED distinct reviewers, or one maintainer."""
    _check_reviewer(corpus, reviewer)
    if decision in {Decision.REQUEST_CHANGES, Decision.REJECT} and not comment.strip():
        raise ValidationError(_("Say why in a comment."))
    if decision == Decision.REJECT and not reason:
        raise ValidationError(_("Choose a reason for the rejection."))
    with transaction.atomic():
        corpus = Corpus.objects.select_for_update().get(pk=corpus.pk)
        if corpus.status != CorpusStatus.AWAITING_REVIEW:
            raise ValidationError(_("This corpus is not waiting for review."))
        try:
            with transaction.atomic():
                Review.objects.create(
                    corpus=corpus, corpus_version=corpus.version, reviewer=reviewer, decision=decision,
                    comment=comment.strip(), reason=reason if decision == Decision.REJECT else "",
                )
        except IntegrityError:
            raise ValidationError(_("You have already decided on this version.")) from None
        if corpus.review_started_at is None:
            corpus.review_started_at = timezone.now()
            corpus.save(update_fields=["review_started_at"])
        approvals = Review.objects.filter(
            corpus=corpus, corpus_version=corpus.version, decision=Decision.APPROVE
        ).count()
        target = None
        if decision == Decision.REJECT:
            target = CorpusStatus.REJECTED
        elif decision == Decision.REQUEST_CHANGES:
            target = CorpusStatus.CHANGES_REQUESTED
        elif (reviewer.is_maintainer and settings.REVIEW_MAINTAINER_SETTLES) or approvals >= approvals_required():
            target = CorpusStatus.APPROVED
        if target:
            corpus = lifecycle.corpus_transition(
                corpus_id=corpus.id, to=target, actor=reviewer, comment=comment.strip(),
                reason=comment.strip() if target != CorpusStatus.APPROVED else "",
            )
            if target == CorpusStatus.APPROVED:
                training_version_request(corpus=corpus)
        notifications.notify_decision(corpus=corpus, reviewer=reviewer, decision=decision, comment=comment,
                                      settled=target is not None)
    return corpus


def training_version_request(*, corpus: Corpus) -> TrainingVersion:
    version = TrainingVersion.objects.create(corpus=corpus, corpus_version=corpus.version)
    job_enqueue(version)
    return version


def parse_index(value) -> int | None:
    """A non-negative number as typed in a form or URL, or None (only ASCII
    digits: "²".isdigit() is true, int("²") is not)."""
    value = str(value).strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 15:
        return None
    return int(value)


def _check_can_exclude(corpus: Corpus, reviewer: User) -> None:
    _check_reviewer(corpus, reviewer)
    if corpus.status != CorpusStatus.AWAITING_REVIEW:
        raise ValidationError(_("Exclusions are set while the corpus waits for review."))


def exclusion_add(*, corpus: Corpus, reviewer: User, kind: str, value: str = "") -> Exclusion:
    _check_can_exclude(corpus, reviewer)
    if kind not in Exclusion.Kind.values:
        raise ValidationError(_("Unknown exclusion."))
    if kind == Exclusion.Kind.DOCUMENT and parse_index(value) is None:
        raise ValidationError(_("Give the number of the document."))
    exclusion, _created = Exclusion.objects.get_or_create(
        corpus=corpus, corpus_version=corpus.version, kind=kind, value=str(value),
        defaults={"created_by": reviewer},
    )
    return exclusion


def exclusion_remove(*, corpus: Corpus, reviewer: User, exclusion_id: int) -> None:
    _check_can_exclude(corpus, reviewer)
    Exclusion.objects.filter(id=exclusion_id, corpus=corpus, corpus_version=corpus.version).delete()


def comment_post(*, corpus: Corpus, author: User, body: str) -> Comment:
    if not body.strip():
        raise ValidationError(_("The comment is empty."))
    if corpus.submitter_id != author.id and not author.is_reviewer:
        raise PermissionDenied
    comment = Comment.objects.create(
        corpus=corpus, author=author, author_pseudonym=author.pseudonym, body=body.strip()[:10_000]
    )
    notifications.notify_comment(comment=comment)
    return comment


def corpus_changes(*, corpus: Corpus) -> dict[str, Any] | None:
    """What changed between the last two analysed versions: what reviewers
    look at when a corpus comes back after a request for changes."""
    runs = list(
        AnalysisRun.objects.filter(corpus=corpus, status=JobStatus.DONE).order_by("-corpus_version", "-id")
    )
    latest = runs[0] if runs else None
    previous = next((r for r in runs if latest and r.corpus_version < latest.corpus_version), None)
    if not latest or not previous:
        return None
    new, old = latest.report, previous.report
    files_new, files_old = set(new.get("files", {})), set(old.get("files", {}))
    return {
        "from_version": previous.corpus_version,
        "to_version": latest.corpus_version,
        "documents": new["documents"] - old["documents"],
        "words": new["words"] - old["words"],
        "files_added": sorted(files_new - files_old),
        "files_removed": sorted(files_old - files_new),
        "personal_data": {
            kind: new["personal_data"][kind]["documents"] - old["personal_data"][kind]["documents"]
            for kind in new["personal_data"]
        },
    }


# ---------------------------------------------------------------- reviewers


def reviewer_agreement() -> dict[str, Any]:
    """For maintainers: per reviewer, decisions made and how often they
    matched the outcome of the corpus version; over versions with several
    reviewers, Krippendorff's alpha (nominal)."""
    reviews = list(Review.objects.select_related("reviewer", "corpus").order_by("corpus_id", "corpus_version"))
    outcome: dict[tuple[int, int], str] = {}
    for corpus_id, version, status in Corpus.objects.values_list("id", "version", "status"):
        if status in lifecycle.OUTCOMES:
            outcome[(corpus_id, version)] = lifecycle.OUTCOMES[CorpusStatus(status)]
    per_reviewer: dict[int, dict[str, Any]] = {}
    units: dict[tuple[int, int], list[str]] = defaultdict(list)
    for review in reviews:
        key = (review.corpus_id, review.corpus_version)
        units[key].append(review.decision)
        if review.reviewer is None or review.reviewer_id is None:
            continue
        stats = per_reviewer.setdefault(
            review.reviewer_id, {"reviewer": review.reviewer, "decisions": 0, "settled": 0, "agreed": 0,
                                 "by_decision": Counter()}
        )
        stats["decisions"] += 1
        stats["by_decision"][review.decision] += 1
        if key in outcome:
            stats["settled"] += 1
            stats["agreed"] += review.decision == outcome[key]
    for stats in per_reviewer.values():
        stats["agreement"] = stats["agreed"] / stats["settled"] if stats["settled"] else None
    return {
        "reviewers": sorted(per_reviewer.values(), key=lambda s: -s["decisions"]),
        "alpha": krippendorff_alpha([values for values in units.values() if len(values) >= 2]),
        "units": sum(1 for values in units.values() if len(values) >= 2),
    }


def krippendorff_alpha(units: list[list[str]]) -> float | None:
    """Krippendorff's alpha for nominal values; units with fewer than two
    values do not count. None when it is undefined (no pairable values, or
    a single value everywhere)."""
    coincidences: dict[tuple[str, str], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, a in enumerate(values):
            for j, b in enumerate(values):
                if i != j:
                    coincidences[a, b] += 1 / (m - 1)
    n = sum(coincidences.values())
    if n <= 1:
        return None
    totals: dict[str, float] = defaultdict(float)
    for (a, _b), count in coincidences.items():
        totals[a] += count
    observed = sum(count for (a, b), count in coincidences.items() if a != b)
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b) / (n - 1)
    if expected == 0:
        return None
    return round(1 - observed / expected, 4)
