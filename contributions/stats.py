"""The public statistics: what /stats/, /stats.json and the home page show.

Everything is counted by the database (aggregates grouped by license,
language, domain and month), in a fixed number of queries whatever the size
of the data, and the result is kept in the cache for ``CACHE_SECONDS``: the
figures may be a few minutes old, the pages never wait for them. The cache
backends degrade (contributions.cache): with the cache down the figures are
computed at each request, nothing fails.

Definitions (the README says the same for the readers of /stats.json):

- accepted corpus: status in ``lifecycle.PUBLISHED``; its acceptance date is
  its move to "approved" in the audit trail (``CorpusEvent``), or, for a
  corpus without one (imported data), its submission or creation date;
- decision: the end of a version's review, i.e. the ``CorpusEvent`` leaving
  "awaiting review" for approved, changes requested or rejected. One
  reviewer's approval while a second is still required is not a decision;
  the audit trail is used rather than ``Review`` rows because it holds both
  ends of the wait (the submission and the outcome) and the outcome itself;
- time to decision: from the latest submission before the decision to it;
  the median over every decision (``percentile_cont`` on PostgreSQL; on
  other databases the middle row(s) in order, still read by the database);
- acceptance rate: approved decisions / all decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from .lifecycle import IN_ANALYSIS, PUBLISHED
from .models import RESTRICTED_LICENSES, Corpus, CorpusEvent, CorpusLanguage, JobStatus, Release, User
from .models import CorpusStatus as S
from .payloads import (
    Stats,
    StatsDomain,
    StatsLanguage,
    StatsLicense,
    StatsLicenseFamily,
    StatsMonth,
    StatsReview,
    StatsTotals,
)

VERSION = 1
CACHE_KEY = f"stats:v{VERSION}"
CACHE_SECONDS = 300
DECISIONS = (S.APPROVED, S.CHANGES_REQUESTED, S.REJECTED)


def stats_cached() -> Stats:
    """The statistics, from the cache when they are there (at most
    ``CACHE_SECONDS`` old), else computed and kept."""
    stats = cache.get(CACHE_KEY)
    if stats is None:
        stats = stats_compute()
        cache.set(CACHE_KEY, stats, CACHE_SECONDS)
    return stats


def stats_compute() -> Stats:
    return {
        "version": VERSION,
        "generated_at": timezone.now().isoformat(),
        "totals": _totals(),
        "by_license": _by_license(),
        "by_license_family": _by_license_family(),
        "by_language": _by_language(),
        "by_domain": _by_domain(),
        "by_month": _by_month(),
        "review": _review(),
    }


def _published() -> QuerySet[Corpus]:
    # The default ordering would otherwise join the GROUP BY of some backends.
    return Corpus.objects.filter(status__in=PUBLISHED).order_by()


def _rows(queryset: QuerySet) -> Iterator[dict[str, Any]]:
    """The rows of a grouped ``values()`` query, as plain dicts (for mypy)."""
    yield from queryset


def _sums() -> dict:
    return {
        "corpora": Count("id"),
        "documents": Coalesce(Sum("documents"), 0),
        "words": Coalesce(Sum("words"), 0),
    }


def _totals() -> StatsTotals:
    published = Q(status__in=PUBLISHED)
    corpora = Corpus.objects.order_by().aggregate(
        corpora=Count("id", filter=published),
        documents=Coalesce(Sum("documents", filter=published), 0),
        words=Coalesce(Sum("words", filter=published), 0),
        in_analysis=Count("id", filter=Q(status__in=IN_ANALYSIS)),
        awaiting_review=Count("id", filter=Q(status=S.AWAITING_REVIEW)),
    )
    contributed = Exists(Corpus.objects.filter(submitter=OuterRef("pk"), status__in=PUBLISHED))
    members = User.objects.filter(is_active=True).order_by().aggregate(
        members=Count("id"), contributors=Count("id", filter=Q(contributed))
    )
    return {
        "members": members["members"],
        "contributors": members["contributors"],
        "corpora": corpora["corpora"],
        "corpora_in_analysis": corpora["in_analysis"],
        "corpora_awaiting_review": corpora["awaiting_review"],
        "documents": corpora["documents"],
        "words": corpora["words"],
        "releases": Release.objects.filter(public=True, status=JobStatus.DONE).count(),
    }


def _by_license() -> list[StatsLicense]:
    rows = _rows(_published().values("license").annotate(**_sums()).order_by("-words", "license"))
    return [
        {"license": r["license"], "corpora": r["corpora"], "documents": r["documents"], "words": r["words"]}
        for r in rows
    ]


def _by_license_family() -> list[StatsLicenseFamily]:
    family = Case(
        When(license__in=RESTRICTED_LICENSES, then=Value("restricted")),
        default=Value("open"),
        output_field=CharField(),
    )
    rows = _rows(_published().annotate(family=family).values("family").annotate(**_sums()).order_by("family"))
    return [
        {"family": r["family"], "corpora": r["corpora"], "documents": r["documents"], "words": r["words"]}
        for r in rows
    ]


def _by_language() -> list[StatsLanguage]:
    rows = (
        CorpusLanguage.objects.filter(corpus__status__in=PUBLISHED)
        .values("language")
        .annotate(corpora=Count("corpus"), documents=Coalesce(Sum("documents"), 0))
        .order_by("-documents", "language")
    )
    return [{"language": r["language"], "corpora": r["corpora"], "documents": r["documents"]} for r in rows]


def _by_domain() -> list[StatsDomain]:
    rows = _rows(_published().values("domain").annotate(**_sums()).order_by("-words", "domain"))
    return [
        {"domain": r["domain"], "corpora": r["corpora"], "documents": r["documents"], "words": r["words"]}
        for r in rows
    ]


def _month_key(value: datetime | date) -> tuple[int, int]:
    return (value.year, value.month)


def _by_month() -> list[StatsMonth]:
    """Corpora accepted and members joined per month, with running totals:
    one row per month from the first to the last month with either, gaps
    included (the loop is over months, never over corpora)."""
    approved = (
        CorpusEvent.objects.filter(corpus=OuterRef("pk"), to_status=S.APPROVED)
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    accepted = {
        _month_key(r["month"]): r
        for r in _rows(
            _published()
            .annotate(accepted_at=Coalesce(Subquery(approved), F("submitted_at"), F("created_at")))
            .annotate(month=TruncMonth("accepted_at"))
            .values("month")
            .annotate(**_sums())
            .order_by("month")
        )
    }
    joined = {
        _month_key(r["month"]): r["members"]
        for r in User.objects.filter(is_active=True)
        .order_by()
        .annotate(month=TruncMonth("date_joined"))
        .values("month")
        .annotate(members=Count("id"))
        .order_by("month")
    }
    months = sorted({*accepted, *joined})
    if not months:
        return []
    (year, month), last = months[0], months[-1]
    rows: list[StatsMonth] = []
    corpora_total = words_total = members_total = 0
    while (year, month) <= last:
        row = accepted.get((year, month), {"corpora": 0, "documents": 0, "words": 0})
        members = joined.get((year, month), 0)
        corpora_total += row["corpora"]
        words_total += row["words"]
        members_total += members
        rows.append(
            {
                "month": f"{year:04d}-{month:02d}",
                "corpora_accepted": row["corpora"],
                "documents_accepted": row["documents"],
                "words_accepted": row["words"],
                "members_joined": members,
                "corpora_total": corpora_total,
                "words_total": words_total,
                "members_total": members_total,
            }
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return rows


class _Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the median, of numbers or intervals."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def _review() -> StatsReview:
    decisions = CorpusEvent.objects.filter(from_status=S.AWAITING_REVIEW, to_status__in=DECISIONS).order_by()
    counts = decisions.aggregate(
        decided=Count("id"),
        approved=Count("id", filter=Q(to_status=S.APPROVED)),
        changes_requested=Count("id", filter=Q(to_status=S.CHANGES_REQUESTED)),
        rejected=Count("id", filter=Q(to_status=S.REJECTED)),
    )
    median = _median_wait(decisions) if counts["decided"] else None
    return {
        "decided": counts["decided"],
        "approved": counts["approved"],
        "changes_requested": counts["changes_requested"],
        "rejected": counts["rejected"],
        "acceptance_rate": counts["approved"] / counts["decided"] if counts["decided"] else None,
        "median_seconds_to_decision": median.total_seconds() if median is not None else None,
    }


def _median_wait(decisions: QuerySet[CorpusEvent]) -> timedelta | None:
    # Each decision ends the review of the version submitted last before it.
    submitted = (
        CorpusEvent.objects.filter(
            corpus=OuterRef("corpus"), to_status=S.SUBMITTED, created_at__lte=OuterRef("created_at")
        )
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    waits = decisions.annotate(submitted_at=Subquery(submitted)).annotate(
        wait=ExpressionWrapper(F("created_at") - F("submitted_at"), output_field=DurationField())
    )
    if connection.vendor == "postgresql":
        # percentile_cont leaves out the NULL waits (a decision without a
        # recorded submission) by itself.
        return waits.aggregate(median=_Median("wait"))["median"]
    # Elsewhere: the middle one or two waits, in the database's order.
    waits = waits.filter(submitted_at__isnull=False)
    count = waits.count()
    if not count:
        return None
    middle = list(waits.order_by("wait", "id").values_list("wait", flat=True)[(count - 1) // 2 : count // 2 + 1])
    return sum(middle, timedelta()) / len(middle)
