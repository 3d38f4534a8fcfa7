"""Reads for a member's dashboard: their corpora and where they stand, what
waits for them, their latest notifications, and where their text went (the
releases that carry each of their corpora, from ``ReleaseEntry``).

Every read here is bounded: a fixed number of queries and of rows, whatever
the number of corpora, releases or notifications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from . import lifecycle
from .catalogue import public_release_entries, release_config_for
from .models import (
    AnalysisRun,
    Corpus,
    CorpusStatus,
    Notification,
    Release,
    ReleaseEntry,
    TrainingVersion,
    User,
)
from .releases import family
from .review import review_queue

# How many rows each part of the dashboard shows; the full lists are a link away.
RECENT_CORPORA = 10
WAITING_CORPORA = 10
RECENT_NOTIFICATIONS = 5
RELEASE_ENTRIES = 30
# The corpus page lists every release of one corpus; there are few, but no list is unbounded.
CORPUS_RELEASES = 50


@dataclass(frozen=True)
class TextWent:
    """What one release kept of one corpus."""

    corpus_id: int
    corpus_title: str
    release_version: str
    release_date: datetime | None
    documents: int
    words: int
    excluded: int
    duplicates: int
    filtered: int
    masked: int
    explore_url: str | None


@dataclass(frozen=True)
class Dashboard:
    corpora: list[Corpus]
    corpora_total: int
    changes_requested: list[Corpus]
    changes_requested_total: int
    review_waiting: int | None  # None: not a reviewer
    notifications: list[Notification]
    text_went: list[TextWent]
    text_went_total: int

    @property
    def active(self) -> bool:
        return corpora_progress_active(corpora=self.corpora)


# ---------------------------------------------------------------- corpora and their jobs


def corpora_with_progress(*, corpora: QuerySet[Corpus]) -> list[Corpus]:
    """The corpora, each with ``latest_analysis`` and ``latest_training``
    (the training-ready version of its current version), in three queries."""
    latest_analysis = AnalysisRun.objects.filter(corpus=OuterRef("pk")).order_by("-created_at", "-id").values("id")[:1]
    latest_training = (
        TrainingVersion.objects.filter(corpus=OuterRef("pk"), corpus_version=OuterRef("version"))
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    rows = list(corpora.annotate(analysis_id=Subquery(latest_analysis), training_id=Subquery(latest_training)))
    # Only what a progress line needs: the report and the shard lists can be large.
    job_fields = ("status", "progress_done", "progress_total", "started_at", "error")
    analyses = AnalysisRun.objects.only(*job_fields, "documents_done").in_bulk(
        [c.analysis_id for c in rows if c.analysis_id]
    )
    trainings = TrainingVersion.objects.only(*job_fields, "documents").in_bulk(
        [c.training_id for c in rows if c.training_id]
    )
    for corpus in rows:
        corpus.latest_analysis = analyses.get(corpus.analysis_id)  # type: ignore[attr-defined]
        corpus.latest_training = trainings.get(corpus.training_id)  # type: ignore[attr-defined]
    return list(rows)


def corpora_progress_active(*, corpora: list[Corpus]) -> bool:
    """Whether any of these corpora has work under way that a page follows live."""
    return any(
        lifecycle.is_in_analysis(corpus)
        or lifecycle.job_is_active(getattr(corpus, "latest_analysis", None))
        or lifecycle.job_is_active(getattr(corpus, "latest_training", None))
        for corpus in corpora
    )


def corpora_recent(*, user: User, limit: int = RECENT_CORPORA) -> list[Corpus]:
    """The member's latest corpora, with their progress."""
    return corpora_with_progress(corpora=Corpus.objects.filter(submitter=user).order_by("-created_at", "-id")[:limit])


# ---------------------------------------------------------------- where my text went


def explore_url(*, version: str, configs: object, license: str, languages: list[str], corpus_id: int) -> str | None:
    """The explorer's page of this corpus's rows in a release: the config of
    its license family and its (first) language, as on the public corpus
    page; None while the explorer is missing or the release has no such
    config."""
    config = release_config_for(
        configs=configs if isinstance(configs, dict) else None, family=family(license),
        language=languages[0] if languages else "",
    )
    if config is None:
        return None
    try:
        path = reverse("contributions:explore_release", args=[version, config])
    except NoReverseMatch:
        return None
    return f"{path}?{urlencode({'corpus': corpus_id})}"


def release_configs(*, release_ids: set[int]) -> dict[int, object]:
    """The configs of each release, in one query. A release's stats also
    hold a figure for each of its corpora (thousands): only the configs are
    read, once per release rather than once per entry."""
    rows = Release.objects.filter(id__in=release_ids).annotate(configs=F("stats__configs")).values_list("id", "configs")
    return dict(rows)


def _text_went(rows: QuerySet[ReleaseEntry]) -> list[TextWent]:
    values = list(
        rows.values(
            "corpus_id", "corpus__title", "corpus__license", "corpus__languages", "release_id", "release__version",
            "release__finished_at", "documents", "words", "excluded", "duplicates", "filtered", "masked",
        )
    )
    configs = release_configs(release_ids={row["release_id"] for row in values}) if values else {}
    return [
        TextWent(
            corpus_id=row["corpus_id"],
            corpus_title=row["corpus__title"],
            release_version=row["release__version"],
            release_date=row["release__finished_at"],
            documents=row["documents"],
            words=row["words"],
            excluded=row["excluded"],
            duplicates=row["duplicates"],
            filtered=row["filtered"],
            masked=row["masked"],
            explore_url=explore_url(
                version=row["release__version"], configs=configs.get(row["release_id"]),
                license=row["corpus__license"], languages=row["corpus__languages"], corpus_id=row["corpus_id"],
            ),
        )
        for row in values
    ]


def text_went_of_member(*, user: User, limit: int = RELEASE_ENTRIES) -> tuple[list[TextWent], int]:
    """Each public release that carries a corpus of the member, grouped by
    corpus (latest corpus first, latest release first), and how many in all."""
    entries = public_release_entries().filter(corpus__submitter=user)
    ordered = entries.order_by("-corpus__created_at", "-corpus_id", "-release__created_at", "-release_id")
    return _text_went(ordered[:limit]), entries.count()


def text_went_of_corpus(*, corpus: Corpus, limit: int = CORPUS_RELEASES) -> list[TextWent]:
    """Each public release that carries this corpus, latest first."""
    return _text_went(
        public_release_entries().filter(corpus=corpus).order_by("-release__created_at", "-release_id")[:limit]
    )


# ---------------------------------------------------------------- the dashboard


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def dashboard_overview(*, user: User) -> Dashboard:
    mine = Corpus.objects.filter(submitter=user)
    changes = mine.filter(status=CorpusStatus.CHANGES_REQUESTED).order_by("-updated_at", "-id")
    text_went, text_went_total = text_went_of_member(user=user)
    return Dashboard(
        corpora=corpora_recent(user=user),
        corpora_total=mine.count(),
        changes_requested=list(changes[:WAITING_CORPORA]),
        changes_requested_total=changes.count(),
        review_waiting=review_queue(reviewer=user).count() if user.is_reviewer else None,
        notifications=list(user.notifications.select_related("corpus")[:RECENT_NOTIFICATIONS]),
        text_went=text_went,
        text_went_total=text_went_total,
    )
