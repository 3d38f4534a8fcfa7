"""Reads for the public pages: the catalogue of accepted corpora, the page of
one corpus written as a dataset card, and the contributors.

Only what is published (``lifecycle.PUBLISHED``) ever leaves here; lists
are filtered, counted and sorted in the database, with their related rows
fetched in one query each, and never read a file. The one file read (sample
documents of a corpus page) is bounded and cached per training version.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from .analysis.labels import PERSONAL_DATA as PERSONAL_DATA_LABELS
from .analysis.labels import QUALITY as QUALITY_LABELS
from .charts import Chart
from .fragments import newest, read_state
from .fragments import public_releases as public_releases_reads
from .languages import language_name
from .lifecycle import PUBLISHED
from .models import (
    RESTRICTED_LICENSES,
    AnalysisRun,
    Corpus,
    CorpusEvent,
    CorpusLanguage,
    Decision,
    JobStatus,
    License,
    Release,
    ReleaseEntry,
    Review,
    TrainingVersion,
    User,
)
from .releases import public_releases_state

logger = logging.getLogger(__name__)

PAGE_SIZE = 50

# The official text of each license, by SPDX id (public domain has none).
LICENSE_URLS: dict[str, str] = {
    License.CC0: "https://creativecommons.org/publicdomain/zero/1.0/",
    License.CC_BY: "https://creativecommons.org/licenses/by/4.0/",
    License.CC_BY_SA: "https://creativecommons.org/licenses/by-sa/4.0/",
    License.ETALAB: "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    License.ODC_BY: "https://opendatacommons.org/licenses/by/1-0/",
    License.PDDL: "https://opendatacommons.org/licenses/pddl/1-0/",
    License.CC_BY_NC: "https://creativecommons.org/licenses/by-nc/4.0/",
    License.CC_BY_NC_SA: "https://creativecommons.org/licenses/by-nc-sa/4.0/",
}

OPEN = "open"
RESTRICTED = "restricted"

# Sizes in documents: (lowest included, highest excluded).
SIZES: dict[str, tuple[int, int | None]] = {
    "small": (0, 1_000),
    "medium": (1_000, 100_000),
    "large": (100_000, None),
}

SORTS = {
    "newest": ("-submitted_at", "-id"),
    "words": ("-words", "-id"),
}

SAMPLE_COUNT = 3
SAMPLE_CHARS = 1_500
# Read at most this many rows of the first shard: enough for the samples
# whatever the size of the corpus.
SAMPLE_READ_ROWS = 64
SAMPLE_CACHE_SECONDS = 24 * 3600


def public_releases() -> QuerySet[Release]:
    return Release.objects.filter(public=True, status=JobStatus.DONE)


def public_release_entries() -> QuerySet[ReleaseEntry]:
    """The entries of public built releases that carry rows of their corpus."""
    return ReleaseEntry.objects.filter(release__public=True, release__status=JobStatus.DONE, documents__gt=0)


def _public_entries() -> QuerySet[ReleaseEntry]:
    return (
        public_release_entries()
        .select_related("release")
        .only("id", "corpus_id", "documents", "words", "excluded", "duplicates", "filtered", "masked",
              "release__id", "release__version", "release__created_at")
        .order_by("-release__created_at", "-release_id")
    )


# ---------------------------------------------------------------- catalogue


@dataclass(frozen=True, kw_only=True)
class CatalogueQuery:
    """The catalogue's search and filters, already validated."""

    q: str = ""
    license: str = ""
    family: str = ""
    language: str = ""
    domain: str = ""
    period_from: int | None = None
    period_to: int | None = None
    size: str = ""
    sort: str = "newest"


def corpora_catalogue(*, query: CatalogueQuery) -> QuerySet[Corpus]:
    """Published corpora matching ``query``, with their three main languages
    (``main_languages``) and their public releases (``public_entries``)."""
    corpora = Corpus.objects.filter(status__in=PUBLISHED)
    if query.q:
        corpora = corpora.filter(Q(title__icontains=query.q) | Q(description__icontains=query.q))
    if query.license:
        corpora = corpora.filter(license=query.license)
    if query.family == RESTRICTED:
        corpora = corpora.filter(license__in=RESTRICTED_LICENSES)
    elif query.family == OPEN:
        corpora = corpora.exclude(license__in=RESTRICTED_LICENSES)
    if query.language:
        corpora = corpora.filter(
            Exists(CorpusLanguage.objects.filter(corpus=OuterRef("pk"), language=query.language))
        )
    if query.domain:
        corpora = corpora.filter(domain=query.domain)
    if query.period_from is not None or query.period_to is not None:
        # Overlaps [from, to]: a corpus without any period never matches,
        # an open end counts as unbounded.
        corpora = corpora.filter(Q(period_start__isnull=False) | Q(period_end__isnull=False))
        if query.period_to is not None:
            corpora = corpora.filter(Q(period_start__isnull=True) | Q(period_start__lte=query.period_to))
        if query.period_from is not None:
            corpora = corpora.filter(Q(period_end__isnull=True) | Q(period_end__gte=query.period_from))
    if query.size in SIZES:
        low, high = SIZES[query.size]
        corpora = corpora.filter(documents__gte=low)
        if high is not None:
            corpora = corpora.filter(documents__lt=high)
    return (
        corpora.only("id", "title", "license", "domain", "documents", "words", "period_start", "period_end",
                     "submitted_at", "submitter_id", "submitter_pseudonym")
        .prefetch_related(
            # Fetched for the page's rows only: joined, the members would be
            # matched to every corpus that passes the filters before the sort.
            Prefetch("submitter", queryset=User.objects.only("id", "pseudonym", "display_name", "public_profile")),
            # A sliced prefetch: the database keeps three rows per corpus.
            Prefetch("detected_languages", queryset=CorpusLanguage.objects.all()[:3], to_attr="main_languages"),
            Prefetch("release_entries", queryset=_public_entries(), to_attr="public_entries"),
        )
        .order_by(*SORTS.get(query.sort, SORTS["newest"]))
    )


# The rendered results of a search are kept this long at most; a change of
# the accepted corpora or of the public releases shows at once (the key
# changes), a member's new public name within this time.
CATALOGUE_CACHE_SECONDS = 60


def _published_state(*, with_releases: bool = False) -> str:
    """What changes as soon as a corpus is published or unpublished: the
    number of published corpora and the last status change, and with
    ``with_releases`` the public releases' number and last build, in one
    query. Reading the latest ``updated_at`` of the published corpora
    instead would read every row of the table."""
    marks = ", ".join(["%s"] * len(PUBLISHED))
    published = (f"(SELECT COUNT(*) FROM {connection.ops.quote_name(Corpus._meta.db_table)} WHERE status IN ({marks}))",
                 [str(status) for status in PUBLISHED])
    reads = [published, *newest(CorpusEvent), *(public_releases_reads() if with_releases else [])]
    return ":".join(str(value) for value in read_state(reads))


def catalogue_cache_key(*, params: list[tuple[str, list[str]]], language: str) -> str:
    """The cache key of the catalogue's results for these query parameters,
    which changes as soon as the published corpora or the public releases
    do (one query of four small reads instead of rendering fifty rows). An
    edit of a published corpus that does not change its status shows within
    CATALOGUE_CACHE_SECONDS."""
    state = f"{_published_state(with_releases=True)}:{language}:{sorted(params)}"
    return "catalogue:" + hashlib.sha256(state.encode()).hexdigest()


def contributors_cache_key(*, page: str, language: str) -> str:
    """The ranking changes with the accepted corpora; a member who opts in
    or out shows within CATALOGUE_CACHE_SECONDS."""
    state = f"{_published_state()}:{language}:{page}"
    return "catalogue:contributors:" + hashlib.sha256(state.encode()).hexdigest()


def corpus_page_cache_key(*, corpus: Corpus, language: str) -> str:
    """The same for a corpus's page: every change of the corpus moves its
    status, hence ``updated_at``; its releases change with the public ones."""
    state = f"{corpus.pk}:{corpus.version}:{corpus.updated_at.isoformat()}:{public_releases_state()}:{language}"
    return "catalogue:corpus:" + hashlib.sha256(state.encode()).hexdigest()


def credit_name(corpus: Corpus) -> str:
    """Who a corpus is credited to: the public name of a member who opted
    in, else the pseudonym (which stays after the account is deleted)."""
    submitter = corpus.submitter
    if submitter is not None and submitter.public_profile:
        return submitter.public_name
    return corpus.submitter_pseudonym


# ---------------------------------------------------------------- corpus page


def corpus_public_report(*, corpus: Corpus) -> dict[str, Any] | None:
    """The parts of the report of the latest finished analysis of the
    current version that a public page shows. The report's sample (raw
    text, personal data included) is never read."""
    row = (
        AnalysisRun.objects.filter(corpus=corpus, corpus_version=corpus.version, status=JobStatus.DONE)
        .order_by("-created_at", "-id")
        .values("report__languages", "report__length_histogram", "report__duplicates", "report__quality",
                "report__personal_data", "report__documents")
        .first()
    )
    if row is None:
        return None
    return {key.removeprefix("report__"): value for key, value in row.items()}


def corpus_charts(*, report: dict[str, Any]) -> list[Chart]:
    documents = _("Documents")
    languages = Chart(
        title=_("Documents by language"), value_label=documents, label_header=_("Language"),
        rows=[(language_name(share["language"]), share["documents"]) for share in report.get("languages") or []],
    )
    buckets = [(bucket["label"], bucket["documents"]) for bucket in report.get("length_histogram") or []]
    # Up to the longest documents: the empty buckets past them only squeeze the chart.
    while buckets and not buckets[-1][1]:
        buckets.pop()
    lengths = Chart(
        title=_("Document length (characters)"), kind="columns", value_label=documents,
        label_header=_("Characters"),
        rows=buckets,
    )
    dup = report.get("duplicates") or {}
    duplicates = Chart(
        title=_("Duplicates"), value_label=documents, label_header=_("Kind"),
        rows=[
            (_("exact, within the corpus"), dup.get("exact_within", 0)),
            (_("exact, of accepted data"), dup.get("exact_accepted", 0)),
            (_("near, within the corpus"), dup.get("near_within", 0)),
        ],
    )
    quality = Chart(
        title=_("Quality flags"), value_label=documents, label_header=_("Flag"),
        rows=sorted(
            ((str(QUALITY_LABELS.get(flag, flag)), count["documents"])
             for flag, count in (report.get("quality") or {}).items() if count["documents"]),
            key=lambda row: -row[1],
        ),
    )
    # Counts only: which documents, and what was found, stay private.
    personal = Chart(
        title=_("Personal data found (replaced by placeholders in the training data)"),
        value_label=documents, label_header=_("Kind"),
        rows=[
            (str(PERSONAL_DATA_LABELS.get(kind, kind)), count["documents"])
            for kind, count in (report.get("personal_data") or {}).items() if count["documents"]
        ],
    )
    return [languages, lengths, duplicates, quality, personal]


@dataclass(frozen=True)
class ReviewSummary:
    approvals: int
    last_approved_at: Any
    reviewers: list[str]


def corpus_review_summary(*, corpus: Corpus) -> ReviewSummary:
    approvals = list(
        Review.objects.filter(corpus=corpus, corpus_version=corpus.version, decision=Decision.APPROVE)
        .select_related("reviewer")
        .only("created_at", "reviewer__pseudonym", "reviewer__display_name", "reviewer__public_profile")
        .order_by("created_at", "id")
    )
    return ReviewSummary(
        approvals=len(approvals),
        last_approved_at=approvals[-1].created_at if approvals else None,
        reviewers=[
            review.reviewer.public_name if review.reviewer else _("a former member") for review in approvals
        ],
    )


def release_config_for(*, configs: dict | None, family: str, language: str = "") -> str | None:
    """The config of a release (``stats["configs"]``) where a corpus's rows
    are best looked for: its family split to its main language, else the
    family, else the first config of the family."""
    names = sorted(configs or {})
    for preferred in (f"{family}-{language}" if language else "", family):
        if preferred in names:
            return preferred
    return next((name for name in names if name.startswith(family)), None)


def corpus_samples(*, corpus: Corpus) -> list[dict[str, Any]]:
    """A few documents of the training-ready version of the current
    version (personal data already replaced by placeholders), cut short.
    Read from the first shard only, a bounded number of rows, and cached
    per training version (which never changes once built)."""
    version = (
        TrainingVersion.objects.filter(corpus=corpus, corpus_version=corpus.version, status=JobStatus.DONE)
        .order_by("-created_at", "-id")
        .only("id", "shards")
        .first()
    )
    if version is None or not version.shards:
        return []
    key = f"catalogue:samples:{version.pk}"
    samples = cache.get(key)
    if samples is None:
        samples = _read_samples(version.shards[0])
        if samples is None:
            return []  # read again next time: the storage may be back
        cache.set(key, samples, SAMPLE_CACHE_SECONDS)
    return samples


def _read_samples(shard: str) -> list[dict[str, Any]] | None:
    try:
        with default_storage.open(shard, "rb") as handle:
            batches = pq.ParquetFile(handle).iter_batches(
                batch_size=SAMPLE_READ_ROWS, columns=["doc_index", "text", "language"]
            )
            batch = next(batches, None)
    except (OSError, ValueError):
        logger.warning("Cannot read the samples of %s", shard, exc_info=True)
        return None
    if batch is None:
        return []
    samples = []
    for row in batch.to_pylist():
        text = (row["text"] or "").strip()
        if not text:
            continue
        samples.append({
            "doc_index": row["doc_index"],
            "language": row["language"] or "",
            "text": text[:SAMPLE_CHARS],
            "truncated": len(text) > SAMPLE_CHARS,
        })
        if len(samples) == SAMPLE_COUNT:
            break
    return samples


# ---------------------------------------------------------------- contributors


def contributors_ranking() -> QuerySet[User]:
    """Members who opted in to a public profile, by words accepted."""
    published = Q(corpora__status__in=PUBLISHED)
    return (
        User.objects.filter(public_profile=True, is_active=True)
        .annotate(
            words_accepted=Sum("corpora__words", filter=published),
            corpora_accepted=Count("corpora", filter=published),
        )
        .filter(words_accepted__gt=0)
        .only("id", "pseudonym", "display_name", "public_profile", "affiliation")
        .order_by("-words_accepted", "id")
    )


def person_corpora(*, person: User) -> QuerySet[Corpus]:
    return (
        Corpus.objects.filter(submitter=person, status__in=PUBLISHED)
        .only("id", "title", "license", "documents", "words", "submitted_at")
        .order_by("-submitted_at", "-id")
    )


@dataclass(frozen=True)
class PersonFigures:
    corpora: int
    words: int
    reviews: int
    releases: int


def person_figures(*, person: User) -> PersonFigures:
    totals = Corpus.objects.filter(submitter=person, status__in=PUBLISHED).aggregate(
        corpora=Count("id"), words=Sum("words")
    )
    return PersonFigures(
        corpora=totals["corpora"] or 0,
        words=totals["words"] or 0,
        reviews=Review.objects.filter(reviewer=person).count(),
        releases=person_releases(person=person).count(),
    )


def person_releases(*, person: User) -> QuerySet[Release]:
    """Public built releases that carry rows of the member's accepted corpora."""
    return (
        public_releases()
        .filter(
            Exists(
                ReleaseEntry.objects.filter(
                    release=OuterRef("pk"), corpus__submitter=person, corpus__status__in=PUBLISHED,
                    documents__gt=0,
                )
            )
        )
        .only("id", "version", "created_at")
        .order_by("-created_at", "-id")
    )
