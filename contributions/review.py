"""Review: the queue, decisions by several reviewers, exclusions, discussion."""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import islice
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, FloatField, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lifecycle, notifications
from .analysis.documents import document_indexes
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
    ReviewGuidelines,
    TrainingVersion,
    User,
)
from .texts import Message


def approvals_required() -> int:
    return settings.REVIEW_APPROVALS_REQUIRED


def review_queue(
    *, reviewer: User, language: str = "", domain: str = "", license: str = "", max_documents: int | None = None,
    hide_claimed: bool = False,
) -> QuerySet[Corpus]:
    """Corpora waiting for review, oldest first, never the reviewer's own,
    each with ``approvals`` (given so far for its version); without those
    another reviewer is on (``hide_claimed``)."""
    # A correlated subquery rather than a join and GROUP BY: the database
    # counts the approvals of the rows of one page only, after the LIMIT.
    approvals = (
        Review.objects.filter(corpus=OuterRef("pk"), corpus_version=OuterRef("version"), decision=Decision.APPROVE)
        .order_by()
        .values("corpus")
        .annotate(n=Count("id"))
        .values("n")
    )
    corpora = (
        Corpus.objects.filter(status=CorpusStatus.AWAITING_REVIEW)
        .exclude(submitter=reviewer)
        .annotate(approvals=Coalesce(Subquery(approvals, output_field=IntegerField()), 0))
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
    if hide_claimed:
        corpora = corpora.exclude(_claimed_by_another(reviewer))
    return corpora


def review_queue_listing(*, reviewer: User, **filters: Any) -> QuerySet[Corpus]:
    """The queue as its lists show it (the page and the API): what they read
    of each corpus, and who is on it."""
    return review_queue(reviewer=reviewer, **filters).select_related("claimed_by").only(
        "title", "version", "submitted_at", "languages", "domain", "license", "documents", "claim_expires_at",
        "claimed_by__display_name", "claimed_by__public_profile", "claimed_by__pseudonym",
    )


def _claimed_by_another(reviewer: User) -> Q:
    """The one definition of a claim that holds (``claim_is_active`` is its
    Python side): a reviewer's, not expired. A deleted reviewer's holds none."""
    return Q(claimed_by__isnull=False, claim_expires_at__gt=timezone.now()) & ~Q(claimed_by=reviewer)


def review_next(*, reviewer: User, after: Corpus | None = None) -> Corpus | None:
    """The corpus a reviewer takes up next: the oldest in their queue that
    they have not decided on yet and no other reviewer is on."""
    decided = Review.objects.filter(corpus=OuterRef("pk"), corpus_version=OuterRef("version"), reviewer=reviewer)
    corpora = review_queue(reviewer=reviewer, hide_claimed=True).exclude(Exists(decided))
    if after is not None:
        corpora = corpora.exclude(pk=after.pk)
    return corpora.only("id", "title").first()


# ---------------------------------------------------------------- claims


def claim_is_active(corpus: Corpus) -> bool:
    return corpus.claimed_by_id is not None and corpus.claim_expires_at is not None and (
        corpus.claim_expires_at > timezone.now()
    )


def review_decided(*, corpus: Corpus, reviewer: User) -> bool:
    """Whether the reviewer has decided on the version under review."""
    return Review.objects.filter(corpus=corpus, corpus_version=corpus.version, reviewer=reviewer).exists()


def corpus_claim(*, corpus: Corpus, reviewer: User) -> Corpus:
    """"I am reviewing this": the corpus is the reviewer's for
    REVIEW_CLAIM_MINUTES (claiming again renews it), unless another
    reviewer's claim still holds it."""
    _check_reviewer(corpus, reviewer)
    if review_decided(corpus=corpus, reviewer=reviewer):
        # Holding it would only keep it from the reviewers it still waits for.
        raise ValidationError(_("You have already decided on this version."), code="decided")
    now = timezone.now()
    claimed = Corpus.objects.filter(pk=corpus.pk, status=CorpusStatus.AWAITING_REVIEW).exclude(
        _claimed_by_another(reviewer)
    ).update(claimed_by=reviewer, claim_expires_at=now + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES))
    corpus.refresh_from_db(fields=["claimed_by", "claim_expires_at", "status"])
    if not claimed:
        if corpus.status != CorpusStatus.AWAITING_REVIEW:
            raise ValidationError(_("This corpus is not waiting for review."), code="not_awaiting_review")
        raise ValidationError(_("Another reviewer is already on this corpus."), code="claimed")
    return corpus


def corpus_claim_release(*, corpus: Corpus, reviewer: User) -> bool:
    """Give a claim up (only one's own: another reviewer's claim expires).
    False when the reviewer held none."""
    _check_reviewer(corpus, reviewer)
    return bool(
        Corpus.objects.filter(pk=corpus.pk, claimed_by=reviewer).update(claimed_by=None, claim_expires_at=None)
    )


# ---------------------------------------------------------------- guidelines


def guidelines_current() -> ReviewGuidelines | None:
    return ReviewGuidelines.objects.select_related("author").order_by("-version").first()


def guidelines_publish(*, author: User, body: str, based_on: int | None) -> ReviewGuidelines:
    """A new version of the reviewing guidelines, in force at once; the
    earlier ones stay, and every decision records the version it was made
    under. ``based_on``: the version the maintainer edited (None: there was
    none); if another was published meanwhile, theirs would silently undo
    it, so it is refused."""
    if not author.is_maintainer:
        raise PermissionDenied
    body = body.strip()
    if not body.strip(INVISIBLE):
        raise ValidationError(_("The guidelines are empty."))
    latest = ReviewGuidelines.objects.order_by("-version").first()
    if (latest.version if latest else None) != based_on:
        raise ValidationError(_("Another maintainer published version %(version)s meanwhile: read it, then publish "
                                "yours.") % {"version": latest.version if latest else 0})
    if latest is not None and latest.body == body:
        raise ValidationError(_("Nothing changed in the guidelines."))
    try:
        # Two maintainers saving at once both read the same latest version:
        # the unique version number lets one of them through.
        with transaction.atomic():
            return ReviewGuidelines.objects.create(
                version=(latest.version + 1) if latest else 1, body=body, author=author
            )
    except IntegrityError:
        raise ValidationError(_("Another maintainer published a version meanwhile: read it, then publish "
                                "yours.")) from None


# Characters that show nothing (what .strip() leaves of an "empty" text).
INVISIBLE = " \t\n\r\u00a0\u200b\u200c\u200d\u2060\ufeff"


def review_analysis(*, corpus: Corpus) -> AnalysisRun | None:
    """The finished analysis of the version under review, its report left
    out (what the review pages and the API list documents from)."""
    return (
        corpus.analyses.filter(corpus_version=corpus.version, status=JobStatus.DONE).defer("report")
        .order_by("-id").first()
    )


# Of the documents, the share in undeclared languages that is worth a word.
UNDECLARED_LANGUAGE_SHARE = 0.1


def review_warnings(*, corpus: Corpus, analysis: AnalysisRun | None) -> list[Message]:
    """What the analysis contradicts in what the submitter declared, for the
    top of the review page (put into words by the template)."""
    if analysis is None or not analysis.is_done:
        return []
    report = AnalysisRun.objects.filter(pk=analysis.pk).values_list("report", flat=True).first() or {}
    warnings: list[Message] = []
    personal = sum(1 for entry in report.get("personal_data", {}).values() if entry.get("documents"))
    if personal and not corpus.may_contain_personal_data:
        warnings.append({"code": "personal_data_undeclared", "params": {}})
    undeclared = [
        entry for entry in report.get("languages", [])
        if entry.get("language") not in corpus.languages and entry.get("language") not in {"", "und", None}
    ]
    share = sum(entry.get("rate") or 0 for entry in undeclared)
    if share >= UNDECLARED_LANGUAGE_SHARE:
        warnings.append({"code": "languages_undeclared", "params": {
            "rate": share, "languages": [entry["language"] for entry in undeclared[:5]],
        }})
    if corpus.is_restricted:
        warnings.append({"code": "restricted_license", "params": {}})
    return warnings


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
                guidelines = ReviewGuidelines.objects.order_by("-version").values_list("version", flat=True).first()
                Review.objects.create(
                    corpus=corpus, corpus_version=corpus.version, reviewer=reviewer, decision=decision,
                    comment=comment.strip(), reason=reason if decision == Decision.REJECT else "",
                    guidelines_version=guidelines,
                )
        except IntegrityError:
            raise ValidationError(_("You have already decided on this version.")) from None
        if corpus.review_started_at is None:
            corpus.review_started_at = timezone.now()
            corpus.save(update_fields=["review_started_at"])
        # Decided: the reviewer's claim has served.
        if corpus.claimed_by_id == reviewer.id:
            corpus.claimed_by, corpus.claim_expires_at = None, None
            corpus.save(update_fields=["claimed_by", "claim_expires_at"])
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


def _locked_for_exclusions(corpus: Corpus, reviewer: User) -> Corpus:
    """The corpus row, locked until the end of the transaction, still
    waiting for review at the same version: exclusions change only under
    this lock, which a decision takes too, so none lands after the approval
    that the training-ready version is built from."""
    locked = Corpus.objects.select_for_update().get(pk=corpus.pk)
    _check_can_exclude(locked, reviewer)
    if locked.version != corpus.version:
        raise ValidationError(_("The corpus has a new version since: look at it again."))
    return locked


def exclusion_add(*, corpus: Corpus, reviewer: User, kind: str, value: str = "") -> Exclusion:
    _check_can_exclude(corpus, reviewer)
    if kind not in Exclusion.Kind.values:
        raise ValidationError(_("Unknown exclusion."))
    if kind == Exclusion.Kind.DOCUMENT and parse_index(value) is None:
        raise ValidationError(_("Give the number of the document."))
    with transaction.atomic():
        corpus = _locked_for_exclusions(corpus, reviewer)
        exclusion, _created = Exclusion.objects.get_or_create(
            corpus=corpus, corpus_version=corpus.version, kind=kind, value=str(value),
            defaults={"created_by": reviewer},
        )
    return exclusion


def exclusion_remove(*, corpus: Corpus, reviewer: User, exclusion_id: int) -> None:
    _check_can_exclude(corpus, reviewer)
    with transaction.atomic():
        corpus = _locked_for_exclusions(corpus, reviewer)
        Exclusion.objects.filter(id=exclusion_id, corpus=corpus, corpus_version=corpus.version).delete()


def exclusion_bulk_add(
    *, corpus: Corpus, reviewer: User, documents: list[int] | None = None, query: str = "", flag: str = "",
    personal_data: bool = False,
) -> tuple[str, int]:
    """Exclude many documents in one step: those given, or every document
    the filter matches (as the review page lists them). Returns the batch,
    which ``exclusion_bulk_undo`` takes back, and how many documents it
    newly excluded (those already excluded stay as they were, outside it)."""
    _check_can_exclude(corpus, reviewer)
    analysis = review_analysis(corpus=corpus)
    if analysis is None:
        raise ValidationError(_("No analysis of this version yet."))
    limit = settings.REVIEW_BULK_EXCLUDE_MAX
    if documents is None:
        if not (query or flag or personal_data):
            raise ValidationError(_("Filter the documents first: a bulk exclusion never takes the whole corpus."))
        indexes = list(islice(document_indexes(
            run=analysis, query=query, flag=flag, personal_data=personal_data), limit + 1))
    else:
        # Only numbers the version has (a form can send anything).
        indexes = sorted({i for i in documents if 0 <= i < corpus.documents})
    if not indexes:
        raise ValidationError(_("No document selected."))
    if len(indexes) > limit:
        raise ValidationError(_("More than %(limit)s documents at once: narrow the filter.") % {"limit": limit})
    batch = secrets.token_hex(8)
    # The documents are found first (a scan of the shards), then written
    # under the lock, in one transaction: all of the step or none of it.
    with transaction.atomic():
        corpus = _locked_for_exclusions(corpus, reviewer)
        # Documents already excluded keep their exclusion (the unique
        # constraint skips them), outside this batch.
        Exclusion.objects.bulk_create(
            [
                Exclusion(corpus=corpus, corpus_version=corpus.version, kind=Exclusion.Kind.DOCUMENT, value=str(i),
                          batch=batch, created_by=reviewer)
                for i in indexes
            ],
            batch_size=1000, ignore_conflicts=True,
        )
        added = Exclusion.objects.filter(corpus=corpus, batch=batch).count()
    return batch, added


def exclusion_bulk_last(*, corpus: Corpus, reviewer: User) -> dict[str, Any] | None:
    """The reviewer's latest bulk exclusion on this version, while it can be
    undone: its batch and how many documents it holds."""
    last = (
        Exclusion.objects.filter(corpus=corpus, corpus_version=corpus.version, created_by=reviewer)
        .exclude(batch="").order_by("-id").values("batch").first()
    )
    if last is None:
        return None
    count = Exclusion.objects.filter(corpus=corpus, batch=last["batch"]).count()
    return {"batch": last["batch"], "documents": count}


def exclusion_bulk_undo(*, corpus: Corpus, reviewer: User, batch: str) -> int:
    """Take back one of the reviewer's bulk exclusions: the documents it
    excluded are back."""
    _check_can_exclude(corpus, reviewer)
    if not batch:
        raise ValidationError(_("Unknown exclusion."))
    with transaction.atomic():
        corpus = _locked_for_exclusions(corpus, reviewer)
        deleted, _detail = Exclusion.objects.filter(
            corpus=corpus, corpus_version=corpus.version, batch=batch, created_by=reviewer
        ).delete()
    return deleted


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
    # Two reports at most, however many versions the corpus went through.
    done = AnalysisRun.objects.filter(corpus=corpus, status=JobStatus.DONE).only("corpus_version", "report")
    latest = done.order_by("-corpus_version", "-id").first()
    previous = (
        done.filter(corpus_version__lt=latest.corpus_version).order_by("-corpus_version", "-id").first()
        if latest else None
    )
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


# The agreement changes with a decision (a new review) or an outcome (a
# corpus moving, which writes an event): the key follows both, and a change
# of a reviewer's name shows within this many seconds.
AGREEMENT_CACHE_SECONDS = 600


def reviewer_agreement_cached() -> dict[str, Any]:
    """``reviewer_agreement``, kept in the cache until the next decision or
    change of status (two index lookups a request instead of two scans of
    every review)."""
    key = "reviewer-agreement:1:" + ":".join(
        str(v) for v in (
            Review.objects.aggregate(last=Max("id"))["last"], lifecycle.last_status_change(),
        )
    )
    stats = cache.get(key)
    if stats is None:
        stats = reviewer_agreement()
        cache.set(key, stats, AGREEMENT_CACHE_SECONDS)
    return stats


def reviewer_agreement() -> dict[str, Any]:
    """For maintainers: per reviewer, decisions made and how often they
    matched the outcome of the corpus version; over versions with several
    reviewers, Krippendorff's alpha (nominal). Counted by the database in two
    grouped queries (and one for the reviewers), whatever the number of
    reviews."""
    # A decision is settled when the corpus is still at that version and
    # its status is an outcome; it agrees when the outcome is that decision.
    settled = Q(corpus__version=F("corpus_version"), corpus__status__in=list(lifecycle.OUTCOMES))
    agreed = Q()
    for decision in set(lifecycle.OUTCOMES.values()):
        statuses = [status for status, outcome in lifecycle.OUTCOMES.items() if outcome == decision]
        agreed |= Q(decision=decision, corpus__status__in=statuses)
    rows = cast(list[dict[str, Any]], list(
        Review.objects.filter(reviewer__isnull=False)
        .order_by()
        .values("reviewer_id")
        .annotate(
            decisions=Count("id"),
            settled=Count("id", filter=settled),
            agreed=Count("id", filter=settled & agreed),
            **{f"n_{d}": Count("id", filter=Q(decision=d)) for d in Decision.values},
        )
    ))
    people = User.objects.in_bulk([row["reviewer_id"] for row in rows])
    per_reviewer = []
    for row in rows:
        per_reviewer.append({
            "reviewer": people[row["reviewer_id"]],
            "decisions": row["decisions"],
            "settled": row["settled"],
            "agreed": row["agreed"],
            "by_decision": Counter({d: row[f"n_{d}"] for d in Decision.values if row[f"n_{d}"]}),
            "agreement": row["agreed"] / row["settled"] if row["settled"] else None,
        })
    per_reviewer.sort(key=lambda s: (-s["decisions"], s["reviewer"].pk))
    alpha, units = _alpha_in_database()
    return {"reviewers": per_reviewer, "alpha": alpha, "units": units}


def _alpha_in_database() -> tuple[float | None, int]:
    """Krippendorff's alpha over the decisions, each corpus version a unit,
    as ``krippendorff_alpha`` computes it, summed by the database: with
    n_c decisions of value c in a unit of m, the coincidences are
    o(c, k) = sum n_c n_k / (m - 1) for c != k, and each value's total is
    the sum of its n_c."""
    values = Decision.values
    per_unit = (
        Review.objects.order_by()
        .values("corpus_id", "corpus_version")
        .annotate(m=Count("id"), **{f"n_{v}": Count("id", filter=Q(decision=v)) for v in values})
        .filter(m__gte=2)
    )
    pairs = [(a, b) for i, a in enumerate(values) for b in values[i + 1:]]
    sums = per_unit.aggregate(
        units=Count("m"),
        **{f"t_{v}": Sum(f"n_{v}") for v in values},
        **{
            f"o_{a}_{b}": Sum(Cast(F(f"n_{a}"), FloatField()) * F(f"n_{b}") / (F("m") - 1), output_field=FloatField())
            for a, b in pairs
        },
    )
    totals = {v: sums[f"t_{v}"] or 0 for v in values}
    n = sum(totals.values())
    if n <= 1:
        return None, sums["units"] or 0
    observed = 2 * sum(sums[f"o_{a}_{b}"] or 0.0 for a, b in pairs)
    expected = 2 * sum(totals[a] * totals[b] for a, b in pairs) / (n - 1)
    if expected == 0:
        return None, sums["units"]
    return round(1 - observed / expected, 4), sums["units"]


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
