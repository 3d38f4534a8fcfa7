"""Dataset releases: from the training-ready versions of accepted corpora to
Parquet files that ``datasets.load_dataset`` reads, with a dataset card that
says where every document came from.

A build is reproducible: the same inputs give byte-identical files (a fixed
order, fixed writer settings, no clock in any file). It streams twice over
the inputs, first to find duplicates across corpora, then to write, and
keeps only a byte or two per document in memory between the passes.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTransform
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from . import lifecycle
from .analysis.dedup import NearDuplicateIndex
from .analysis.pipeline import PROCESSING_VERSION
from .explorer import search_index_build
from .jobs import Done, JobContext, JobFailed, JobKind, Retry, job_enqueue, register
from .lifecycle import corpus_try_transition
from .markdown import front_matter_split, markdown_render
from .models import (
    RESTRICTED_LICENSES,
    Corpus,
    CorpusEvent,
    CorpusStatus,
    Decision,
    Domain,
    JobStatus,
    Release,
    ReleaseEntry,
    RemovedDocument,
    Review,
    TrainingVersion,
    User,
)
from .notifications import notify_released
from .payloads import ReleaseCardData, ReleaseFile, ReleaseNotes, ReleaseStats
from .texts import message

logger = logging.getLogger(__name__)

SHARD_MAX_BYTES = 500 * 1024**2
ROW_GROUP_ROWS = 1000

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.large_string()),
        ("corpus_id", pa.int64()),
        ("corpus_title", pa.string()),
        ("license", pa.string()),
        ("source", pa.string()),
        ("language", pa.string()),
        ("domain", pa.string()),
        ("submitter", pa.string()),
        ("reviewers", pa.list_(pa.string())),
        ("processing_version", pa.string()),
        ("chars", pa.int64()),
        ("words", pa.int64()),
        ("quality_flags", pa.list_(pa.string())),
        ("personal_data_replaced", pa.int32()),
    ]
)

# Hugging Face license ids.
HF_LICENSES = {
    "CC0-1.0": "cc0-1.0",
    "CC-BY-4.0": "cc-by-4.0",
    "CC-BY-SA-4.0": "cc-by-sa-4.0",
    "etalab-2.0": "etalab-2.0",
    "ODC-By-1.0": "odc-by",
    "PDDL-1.0": "pddl",
    "public-domain": "other",
    "CC-BY-NC-4.0": "cc-by-nc-4.0",
    "CC-BY-NC-SA-4.0": "cc-by-nc-sa-4.0",
}


# Names under /releases/ that are pages, not versions.
RESERVED_VERSIONS = frozenset({"feed"})


def doc_id(corpus_id: int, version: int, doc_index: int) -> str:
    return f"c{corpus_id}-v{version}-d{doc_index}"


def family(license: str) -> str:
    return "restricted" if license in RESTRICTED_LICENSES else "open"


# ---------------------------------------------------------------- creating


def training_queue() -> QuerySet[TrainingVersion]:
    """Approved corpora not yet released: the latest training-ready version
    of each, with its corpus, in corpus order. A query, to paginate; its
    JSON columns (shards, exclusions) are left in the database."""
    return (
        _latest_versions(Corpus.objects.filter(status=CorpusStatus.QUEUED_FOR_TRAINING))
        .select_related("corpus")
        .defer("shards", "excluded", "error", "corpus__description", "corpus__collection_method")
    )


def _latest_versions(corpora: QuerySet[Corpus] | list[Corpus]) -> QuerySet[TrainingVersion]:
    """The latest built training-ready version of each corpus at its
    current version: the one with no later one of the same corpus version."""
    later = TrainingVersion.objects.filter(
        corpus=OuterRef("corpus"), corpus_version=OuterRef("corpus_version"), status=JobStatus.DONE,
        id__gt=OuterRef("id"),
    )
    return (
        TrainingVersion.objects.filter(corpus__in=corpora, status=JobStatus.DONE, corpus_version=F("corpus__version"))
        .exclude(Exists(later))
        .order_by("corpus_id")
    )


def queue_totals(*, versions: QuerySet[TrainingVersion] | None = None) -> dict[str, list[dict]]:
    """Documents, words and characters of the queue, by license, language
    (declared) and domain. The database sums them per combination of the
    three (a few dozen rows, whatever the size of the queue)."""
    versions = training_queue() if versions is None else versions
    totals: dict[str, dict[str, Counter]] = {"license": {}, "language": {}, "domain": {}}
    for row in (
        versions.order_by()
        .values("corpus__license", "corpus__domain", "corpus__languages")
        .annotate(documents=Sum("documents"), words=Sum("words"), characters=Sum("characters"))
    ):
        groups = [("license", row["corpus__license"]), ("domain", row["corpus__domain"])]
        groups += [("language", language) for language in row["corpus__languages"] or []]
        for key, value in groups:
            counter = totals[key].setdefault(value, Counter())
            counter["documents"] += row["documents"] or 0
            counter["words"] += row["words"] or 0
            counter["characters"] += row["characters"] or 0
    return {
        key: [{"value": value, **counts} for value, counts in sorted(groups.items())] for key, groups in totals.items()
    }


def queue_summary() -> dict:
    """How many corpora the training queue holds and its totals, kept in
    the cache until a corpus changes status or a training-ready version is
    created: both are single index lookups, the sums a scan of the queue."""
    key = "training-queue:1:" + ":".join(
        str(v) for v in (
            lifecycle.last_status_change(),
            TrainingVersion.objects.aggregate(last=Max("id"))["last"],
        )
    )
    summary = cache.get(key)
    if summary is None:
        versions = training_queue()
        summary = {"count": versions.count(), "totals": queue_totals(versions=versions)}
        cache.set(key, summary, QUEUE_CACHE_SECONDS)
    return summary


# A training-ready version that finishes does not change the key until its
# corpus moves to the queue (a new event), which follows at once; this bounds
# any other staleness.
QUEUE_CACHE_SECONDS = 300


@transaction.atomic
def release_create(
    *,
    actor: User,
    version: str,
    corpora: list[Corpus] | None = None,
    licenses: list[str] | None = None,
    languages: list[str] | None = None,
    domains: list[str] | None = None,
    drop_flags: list[str] | None = None,
    public: bool = False,
) -> Release:
    if not actor.is_maintainer:
        raise ValidationError(_("Only maintainers build releases."))
    if version in RESERVED_VERSIONS:
        raise ValidationError(_("“%(version)s” names a page of the site: choose another version.") % {
            "version": version})
    taken = ValidationError(_("A release with this version already exists."))
    if Release.objects.filter(version=version).exists():
        raise taken
    # The corpus-level filters apply now, in the database: the entries
    # written below are the one record of what the release takes in.
    chosen = Corpus.objects.filter(status__in=lifecycle.RELEASABLE) if corpora is None else Corpus.objects.filter(
        pk__in=[corpus.pk for corpus in corpora]
    )
    if licenses:
        chosen = chosen.filter(license__in=licenses)
    if domains:
        chosen = chosen.filter(domain__in=domains)
    versions = list(_latest_versions(chosen).only("id", "corpus_id"))
    if not versions:
        raise ValidationError(_("No corpus to release: none is ready for training, or the filters leave none."))
    # The inputs are fixed now, so that building again (after a worker
    # died, say) gives the same files.
    try:
        with transaction.atomic():
            release = Release.objects.create(
                version=version,
                created_by=actor,
                public=public,
                filters={
                    "licenses": sorted(licenses or []),
                    "languages": sorted(languages or []),
                    "domains": sorted(domains or []),
                    "drop_flags": sorted(drop_flags or []),
                    "removed": sorted(RemovedDocument.objects.values_list("doc_id", flat=True)),
                },
            )
    except IntegrityError:
        # Another maintainer took the same version between the check and now.
        raise taken from None
    ReleaseEntry.objects.bulk_create(
        ReleaseEntry(release=release, corpus_id=v.corpus_id, training_version=v) for v in versions
    )
    job_enqueue(release)
    return release


# ---------------------------------------------------------------- reading


def releases_visible_to(user: User | AnonymousUser) -> QuerySet[Release]:
    """Maintainers see every release; everyone else the public, built ones."""
    if user.is_authenticated and user.is_maintainer:
        return Release.objects.all()
    return Release.objects.filter(public=True, status=JobStatus.DONE)


# What a list needs of a release: never its files, statistics or filters,
# which grow with the number of corpora and of removals.
LIST_FIELDS = ("id", "version", "status", "public", "created_at", "finished_at")


@dataclass(slots=True)
class ReleaseTotals:
    corpora: int = 0
    documents: int = 0
    words: int = 0


def releases_totals(*, release_ids: list[int]) -> dict[int, ReleaseTotals]:
    """Corpora carried, documents and words of each release, added up by the
    database from the entries the build filled in (one query)."""
    rows = (
        ReleaseEntry.objects.filter(release_id__in=release_ids)
        .order_by()  # the model's ordering would join the GROUP BY
        .values("release_id")
        .annotate(corpora=Count("id", filter=Q(documents__gt=0)), documents=Sum("documents"), words=Sum("words"))
    )
    totals = {pk: ReleaseTotals() for pk in release_ids}
    for row in rows:
        totals[row["release_id"]] = ReleaseTotals(row["corpora"], row["documents"] or 0, row["words"] or 0)
    return totals


def release_for_page(*, user: User | AnonymousUser, version: str) -> Release:
    """A release for its page, with the small parts of its statistics read
    by the database (``summary_*``): its statistics hold a line per corpus
    and its filters every removed id, which the page does not need."""
    summary = {
        f"summary_{key}": KeyTransform(key, "stats")
        for key in ("documents", "words", "languages", "configs", "notes", "duplicates_removed", "card")
    }
    return get_object_or_404(
        releases_visible_to(user).defer("stats", "filters", "notes").annotate(**summary), version=version
    )


def last_status_change_subquery() -> Subquery:
    """lifecycle.last_status_change(), as a subquery: read along with the
    release of a page in one query."""
    return Subquery(CorpusEvent.objects.order_by("-id").values("id")[:1])


def release_page_cache_key(*, release: Release, variant: list[str]) -> str:
    """The cache key of a built release's page body. Its files, card and
    entries never change once built (a rebuild changes ``prefix``); what it
    shows of the corpora it carries (a corpus unpublished since is named by
    its number only) changes with a change of status (``last_status_change``,
    annotated with last_status_change_subquery())."""
    state = [release.pk, release.prefix, str(release.finished_at), release.last_status_change, *variant]  # type: ignore[attr-defined]
    return "release-page:1:" + hashlib.sha256(repr(state).encode()).hexdigest()


def public_releases_state() -> str:
    """What changes when a release is published, unpublished or rebuilt: the
    version of the public list's cached rendering."""
    built = Release.objects.filter(public=True, status=JobStatus.DONE).aggregate(
        n=Count("id"), last_id=Max("id"), last=Max("finished_at")
    )
    return f"{built['n']}:{built['last_id']}:{built['last']}"


def release_entries(*, release: Release) -> QuerySet[ReleaseEntry]:
    """The corpora a built release carries, with what it kept of each, in
    one query (paginate it)."""
    return (
        ReleaseEntry.objects.filter(release=release, documents__gt=0)
        .select_related("corpus", "corpus__submitter", "training_version")
        .only(
            *ENTRY_FIGURES, "release_id", "corpus__id", "corpus__title", "corpus__license", "corpus__status",
            "corpus__submitter_pseudonym", "corpus__submitter__id", "corpus__submitter__display_name",
            "corpus__submitter__public_profile", "corpus__submitter__pseudonym",
            "training_version__id", "training_version__corpus_version",
        )
        .order_by("corpus_id")
    )


def entries_reviewers(*, entries: list[ReleaseEntry]) -> dict[int, list[str]]:
    """Who approved the released version of each corpus, by public name or
    pseudonym, in one query."""
    versions = {e.corpus_id: e.training_version.corpus_version for e in entries if e.training_version}
    names: dict[int, list[str]] = defaultdict(list)
    for corpus_id, version, pseudonym, name, public in (
        Review.objects.filter(corpus_id__in=list(versions), decision=Decision.APPROVE)
        .values_list(
            "corpus_id", "corpus_version", "reviewer__pseudonym", "reviewer__display_name", "reviewer__public_profile"
        )
        .order_by("corpus_id", "created_at")
    ):
        if versions.get(corpus_id) == version:
            names[corpus_id].append(name if public and name else pseudonym or "")
    return names


def is_restricted_path(path: str) -> bool:
    """A file of a config that carries non-commercial licenses."""
    return path.startswith("data/restricted")


CARD_MAX_BYTES = 512 * 1024
CARD_CACHE_SECONDS = 30 * 24 * 3600


class ReleaseCard(TypedDict):
    # (key, text, is_block): a header value that is a mapping or a list of
    # mappings is shown as YAML.
    metadata: list[tuple[str, str, bool]]
    html: str
    truncated: bool


def _metadata_text(value: object) -> tuple[str, bool]:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value), False
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False).strip(), True
    return str(value), False


def release_card(*, release: Release) -> ReleaseCard | None:
    """The dataset card of a built release, its header as key/value pairs
    and its body as sanitised HTML. A built release never changes: the
    rendering is kept in the cache for each release and attempt."""
    if release.status != JobStatus.DONE or not release.prefix:
        return None
    key = f"release-card:1:{release.pk}:{release.prefix}"
    card: ReleaseCard | None = cache.get(key)
    if card is not None:
        return card
    try:
        with default_storage.open(f"{release.prefix}/README.md", "rb") as handle:
            raw = handle.read(CARD_MAX_BYTES + 1)
    except OSError:
        logger.warning("release %s: no README.md in storage", release.version)
        return None
    truncated = len(raw) > CARD_MAX_BYTES
    text = raw[:CARD_MAX_BYTES].decode("utf-8", errors="replace")
    header, body = front_matter_split(text)
    card = {
        "metadata": [(str(k), *_metadata_text(v)) for k, v in header.items()],
        # Under the page's "Dataset card" (h2).
        "html": str(markdown_render(text=body, heading_offset=2)),
        "truncated": truncated,
    }
    cache.set(key, card, CARD_CACHE_SECONDS)
    return card


def release_card_translated(*, release: Release, card: ReleaseCardData | None, language: str) -> str | None:
    """The body of the dataset card as sanitised HTML in ``language``, from
    the data the build kept (``stats["card"]``); None in English, whose card
    is the README.md itself, and for releases built before the data was
    kept."""
    if not card or not language or language.split("-")[0] == "en":
        return None
    key = f"release-card-translated:1:{release.pk}:{release.prefix}:{language}"
    html: str | None = cache.get(key)
    if html is None:
        with translation.override(language):
            html = str(markdown_render(text=card_markdown(card=card), heading_offset=2))
        # Shorter than the README's: a corrected translation shows within a day.
        cache.set(key, html, CARD_TRANSLATED_CACHE_SECONDS)
    return html


CARD_TRANSLATED_CACHE_SECONDS = 24 * 3600


# ---------------------------------------------------------------- building


@dataclass(slots=True)
class Source:
    corpus: Corpus
    version: TrainingVersion
    # Pseudonyms: the stable ids the Parquet rows carry.
    reviewers: list[str]
    # How the card credits them: the public name of those who opted into a
    # public profile, the pseudonym of the others.
    reviewer_names: list[str]

    @property
    def submitter_name(self) -> str:
        return credit_name(self.corpus.submitter) or self.corpus.submitter_pseudonym


def credit_name(user: User | None) -> str:
    """How a release credits a member: their public name if they opted into
    a public profile, else their pseudonym ("" for a deleted account)."""
    return user.public_name if user is not None else ""


def release_build(release: Release, context: JobContext) -> Done[Release]:
    """The work of a release job: build the files locally, then keep them."""
    out = context.workdir / "out"
    files, stats = build_into(release, out, context.workdir, beat=context.beat)
    if not stats["documents"]:
        raise JobFailed(message("release.empty"))
    for entry in files:
        stored = context.save_path(entry["path"], out / entry["path"])
        if entry["path"].endswith(".parquet"):
            # The explorer's search index, while the file is still local.
            search_index_build(name=stored, local_path=out / entry["path"])
        context.beat()
    notes = release_notes(release=release, stats=stats)
    # Stored as data, put into words in the reader's language by the page;
    # the English text stays on ``notes`` for exports and the admin.
    stats["notes"] = notes
    return Done(
        fields={
            "prefix": context.prefix, "files": files, "stats": stats,
            "notes": release_notes_markdown(version=release.version, notes=notes),
        },
        then=_released,
    )


def _released(release: Release) -> None:
    """What the build kept of each corpus goes on its entry; the corpora the
    release carries rows of are released, and their submitters hear of it."""
    figures = release.stats.get("corpora", {})
    entries = list(release.entries.all())
    for entry in entries:
        kept = figures.get(str(entry.corpus_id))
        if kept is None:
            continue
        for field in ENTRY_FIGURES:
            setattr(entry, field, kept[field])
    ReleaseEntry.objects.bulk_update(entries, ENTRY_FIGURES)
    carried = [entry.corpus_id for entry in entries if entry.documents]
    for corpus in Corpus.objects.filter(id__in=carried, status=CorpusStatus.QUEUED_FOR_TRAINING):
        corpus_try_transition(corpus_id=corpus.id, to=CorpusStatus.RELEASED)
    notify_released(release=release, corpora=list(Corpus.objects.filter(id__in=carried)))


ENTRY_FIGURES = ["documents", "words", "excluded", "duplicates", "filtered", "masked"]
# What a training-ready version left out on a reviewer's decision.
REVIEWER_EXCLUSIONS = ("document", "flag", "personal_data", "exact_duplicate", "near_duplicate")


def _sources(release: Release) -> list[Source]:
    # The versions chosen at creation, less corpora unpublished since.
    versions = list(
        TrainingVersion.objects.filter(
            id__in=release.entries.values("training_version_id"), corpus__status__in=lifecycle.RELEASABLE
        )
        .select_related("corpus", "corpus__submitter")
        .order_by("corpus_id")
    )
    approvals: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for corpus_id, version, pseudonym, name, public in (
        Review.objects.filter(corpus__in=[v.corpus for v in versions], decision=Decision.APPROVE)
        .values_list(
            "corpus_id", "corpus_version", "reviewer__pseudonym", "reviewer__display_name", "reviewer__public_profile"
        )
        .order_by("corpus_id", "created_at")
    ):
        pseudonym = pseudonym or ""
        approvals[corpus_id, version].append((pseudonym, name if public and name else pseudonym))
    return [
        Source(
            v.corpus, v,
            reviewers=[p for p, _n in approvals[v.corpus_id, v.corpus_version]],
            reviewer_names=[n for _p, n in approvals[v.corpus_id, v.corpus_version]],
        )
        for v in versions
    ]


def _batches(
    sources: list[Source], release: Release, columns: list[str]
) -> Iterator[tuple[Source, pa.Table, int]]:
    """The documents the filters keep, batch by batch in a fixed order, each
    batch with its ``id`` column and how many rows the filters left out."""
    languages = release.filters.get("languages") or []
    drop_flags = set(release.filters.get("drop_flags") or [])
    removed = pa.array(release.filters.get("removed", []), pa.string())
    needed = sorted({"doc_index", "language", *columns, *(["flags"] if drop_flags else [])})
    for source in sources:
        prefix = f"c{source.corpus.id}-v{source.version.corpus_version}-d"
        for name in source.version.shards:
            with default_storage.open(name, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=4096, columns=needed):
                    table = pa.Table.from_batches([batch])
                    ids = pc.binary_join_element_wise(prefix, pc.cast(table["doc_index"], pa.string()), "")
                    table = table.append_column("id", ids)
                    mask = pc.invert(pc.is_in(ids, value_set=removed))
                    if languages:
                        mask = pc.and_(mask, pc.is_in(table["language"], value_set=pa.array(languages)))
                    if drop_flags:
                        flagged = [bool(drop_flags.intersection(f or [])) for f in table["flags"].to_pylist()]
                        mask = pc.and_(mask, pc.invert(pa.array(flagged)))
                    kept = table.filter(mask)
                    yield source, kept, table.num_rows - kept.num_rows


def _no_beat(**fields: object) -> None:
    return None


def build_into(
    release: Release, out: Path, workdir: Path, *, beat: Callable[..., None] = _no_beat
) -> tuple[list[ReleaseFile], ReleaseStats]:
    """Write the release's files into ``out``; returns the manifest entries
    and the statistics. ``beat`` is the job's heartbeat."""
    sources = _sources(release)
    out.mkdir(parents=True, exist_ok=True)
    # Pass 1: duplicates across the release, exact by hash and near by the
    # MinHash signatures the analysis kept (the first occurrence, in corpus
    # order, is kept). One byte a document stays in memory.
    seen: set[int] = set()
    dropped = bytearray()
    language_codes: dict[str, int] = {}
    language_of = bytearray()
    near = NearDuplicateIndex(workdir / "near")
    position = exact = 0
    for _source, table, _filtered in _batches(sources, release, ["hash", "minhash"]):
        n = table.num_rows
        if not n:
            continue
        firsts = []
        for offset, value in enumerate(table["hash"].to_pylist()):
            if value in seen:
                dropped.append(1)
                exact += 1
            else:
                seen.add(value)
                dropped.append(0)
                firsts.append(offset)
        for language in table["language"].to_pylist():
            language_of.append(language_codes.setdefault(language, len(language_codes)))
        signatures = table["minhash"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        near.add(np.arange(position, position + n)[firsts], signatures.reshape(n, -1)[firsts])
        position += n
        beat()
    beat(force=True, progress_total=len(dropped))
    seen.clear()
    near_duplicates = near.duplicates()
    for index in near_duplicates:
        dropped[index] = 1
    keep = np.frombuffer(bytes(dropped), dtype=np.uint8) == 0
    # Which languages remain decides the configs.
    kept_codes = set(np.frombuffer(bytes(language_of), dtype=np.uint8)[keep].tolist())
    kept_languages = sorted(language for language, code in language_codes.items() if code in kept_codes)
    several = len(kept_languages) > 1
    del language_of

    # Pass 2: write, config by config.
    writers: dict[str, _ConfigWriter] = {}
    per_corpus: dict[int, Counter] = defaultdict(Counter)
    words_by_license: Counter[str] = Counter()
    position = 0
    columns = ["text", "source", "chars", "words", "flags", "personal_data_replaced"]
    for source, table, filtered in _batches(sources, release, columns):
        corpus = source.corpus
        n = table.num_rows
        table = table.filter(pa.array(keep[position : position + n]))
        position += n
        per_corpus[corpus.id]["filtered"] += filtered
        per_corpus[corpus.id]["duplicates"] += n - table.num_rows
        if not table.num_rows:
            continue
        output = _output_table(source, table)
        groups = [(family(corpus.license), output)]
        if several:
            groups = [
                (f"{family(corpus.license)}-{language}", output.filter(pc.equal(output["language"], language)))
                for language in sorted(set(output["language"].to_pylist()))
            ]
        for config, part in groups:
            writer = writers.get(config) or writers.setdefault(config, _ConfigWriter(out, config))
            writer.add(part, language=part["language"].unique().to_pylist())
        words = pc.sum(table["words"]).as_py() or 0
        per_corpus[corpus.id]["documents"] += table.num_rows
        per_corpus[corpus.id]["words"] += words
        per_corpus[corpus.id]["masked"] += pc.sum(pc.greater(table["personal_data_replaced"], 0)).as_py() or 0
        words_by_license[corpus.license] += words
        beat(progress_done=position)
    for writer in writers.values():
        writer.close()
    for source in sources:
        left_out = source.version.excluded or {}
        per_corpus[source.corpus.id]["excluded"] = sum(left_out.get(k, 0) for k in REVIEWER_EXCLUSIONS)
        per_corpus[source.corpus.id]["duplicates"] += left_out.get("accepted_duplicate", 0)
    stats: ReleaseStats = {
        "documents": sum(c["documents"] for c in per_corpus.values()),
        "words": sum(c["words"] for c in per_corpus.values()),
        "configs": {
            name: {
                "documents": w.rows, "files": len(w.files), "words": w.words,
                "languages": sorted(w.languages), "family": name.partition("-")[0],
            }
            for name, w in sorted(writers.items())
        },
        # Only the corpora the release carries rows of.
        "corpora": {
            str(k): {field: v[field] for field in ENTRY_FIGURES}  # type: ignore[misc]
            for k, v in sorted(per_corpus.items()) if v["documents"]
        },
        "words_by_license": dict(sorted(words_by_license.items())),
        "duplicates_removed": {"exact": exact, "near": len(near_duplicates)},
        "languages": kept_languages,
        "removed_ids": release.filters.get("removed", []),
    }
    files = [path for writer in writers.values() for path in writer.files]
    (out / "removed_ids.txt").write_text("".join(f"{i}\n" for i in stats["removed_ids"]))
    stats["card"] = release_card_data(release=release, sources=sources, stats=stats)
    # UTF-8 whatever the worker's locale: the same bytes everywhere.
    (out / "README.md").write_text(dataset_card(release, sources, stats, writers), encoding="utf-8")
    files += ["README.md", "removed_ids.txt"]
    manifest: list[ReleaseFile] = [
        {"path": p, "sha256": _sha256(out / p), "bytes": (out / p).stat().st_size} for p in sorted(files)
    ]
    (out / "MANIFEST.sha256").write_text("".join(f"{m['sha256']}  {m['path']}\n" for m in manifest))
    manifest.append(
        {
            "path": "MANIFEST.sha256",
            "sha256": _sha256(out / "MANIFEST.sha256"),
            "bytes": (out / "MANIFEST.sha256").stat().st_size,
        }
    )
    return manifest, stats


def _output_table(source: Source, table: pa.Table) -> pa.Table:
    """The release's columns, built column by column (no row in Python)."""
    corpus, n = source.corpus, table.num_rows

    def constant(value, type_=None):
        return pa.array([value] * n, type=type_ or pa.string())

    return pa.table(
        {
            "id": table["id"],
            "text": pc.cast(table["text"], pa.large_string()),
            "corpus_id": constant(corpus.id, pa.int64()),
            "corpus_title": constant(corpus.title),
            "license": constant(corpus.license),
            "source": constant(corpus.source_url) if corpus.source_url else table["source"],
            "language": table["language"],
            "domain": constant(corpus.domain),
            "submitter": constant(corpus.submitter_pseudonym),
            "reviewers": constant(source.reviewers, pa.list_(pa.string())),
            "processing_version": constant(PROCESSING_VERSION),
            "chars": table["chars"],
            "words": table["words"],
            "quality_flags": table["flags"],
            "personal_data_replaced": table["personal_data_replaced"],
        },
        schema=SCHEMA,
    )


class _ConfigWriter:
    """Shards of at most SHARD_MAX_BYTES of text for one config."""

    def __init__(self, out: Path, config: str) -> None:
        self.out, self.config = out, config
        self.files: list[str] = []
        self.rows = self.words = 0
        self.languages: set[str] = set()
        self._writer: pq.ParquetWriter | None = None
        self._bytes = 0

    def add(self, table: pa.Table, *, language: list[str] | None = None) -> None:
        if not table.num_rows:
            return
        self.words += pc.sum(table["words"]).as_py() or 0
        self.languages.update(language if language is not None else table["language"].unique().to_pylist())
        if self._writer is None:
            path = f"data/{self.config}/train-{len(self.files):05d}.parquet"
            (self.out / path).parent.mkdir(parents=True, exist_ok=True)
            self.files.append(path)
            self._writer = pq.ParquetWriter(
                self.out / path, SCHEMA, compression="zstd", compression_level=3, write_statistics=True
            )
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += table.num_rows
        self._bytes += pc.sum(pc.binary_length(table["text"])).as_py() or 0
        if self._bytes >= SHARD_MAX_BYTES:
            self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer, self._bytes = None, 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def size_category(n: int) -> str:
    for limit, label in [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
    ]:
        if n < limit:
            return label
    return "100M<n<1B"


def default_config(rows: dict[str, int], languages: list[str]) -> str:
    """The config ``load_dataset`` gives without a name: the largest open
    French one, else the largest open one, else the largest."""

    def rank(name: str) -> tuple[bool, bool, int, str]:
        kind, _dash, language = name.partition("-")
        if not language and len(languages) == 1:
            language = languages[0]
        return (kind == "open" and language == "fr", kind == "open", rows[name], name)

    return max(rows, key=rank) if rows else ""


def release_card_data(*, release: Release, sources: list[Source], stats: ReleaseStats) -> ReleaseCardData:
    """What the dataset card says, as data kept with the release's
    statistics: the README.md is its English rendering, the release page
    renders it again in the reader's language."""
    carried = stats["corpora"]
    return {
        "site_name": settings.SITE_NAME,
        "version": release.version,
        "processing_version": PROCESSING_VERSION,
        "default_config": default_config(
            {name: config["documents"] for name, config in stats["configs"].items()}, stats["languages"]
        ),
        "documents": stats["documents"],
        "words": stats["words"],
        "languages": stats["languages"],
        "configs": stats["configs"],
        "duplicates_removed": stats["duplicates_removed"],
        "removed": len(stats["removed_ids"]),
        "filters": {key: list(release.filters.get(key) or []) for key in CARD_FILTERS},
        # Only the corpora the release carries rows of.
        "provenance": [
            {
                "id": s.corpus.id, "title": s.corpus.title, "license": s.corpus.license, "domain": s.corpus.domain,
                "source": s.corpus.source_url or "", "submitter": s.submitter_name, "reviewers": s.reviewer_names,
                "documents": carried[str(s.corpus.id)]["documents"],
            }
            for s in sources if str(s.corpus.id) in carried
        ],
    }


CARD_FILTERS = ("licenses", "languages", "domains", "drop_flags")


def card_markdown(*, card: ReleaseCardData) -> str:
    """The body of the dataset card (below its YAML header), in the active
    language and its number formats."""
    # ".txt": makemessages finds the words to translate in .txt templates, not in .md ones.
    return render_to_string("contributions/release_card.md.txt", {"data": card, "domain_names": dict(Domain.choices)})


def dataset_card(release: Release, sources: list[Source], stats: ReleaseStats, writers: dict) -> str:
    """The README.md of the release, from ``stats["card"]``."""
    card = stats["card"]
    configs = []
    for name in sorted(writers):
        entry = {"config_name": name, "data_files": [{"split": "train", "path": f"data/{name}/*.parquet"}]}
        if name == card["default_config"]:
            entry["default"] = True
        configs.append(entry)
    licenses = sorted({HF_LICENSES.get(s.corpus.license, "other") for s in sources})
    metadata = {
        "license": licenses[0] if len(licenses) == 1 else licenses,
        "language": stats["languages"],
        "size_categories": [size_category(stats["documents"])],
        "task_categories": ["text-generation"],
        "pretty_name": f"{settings.SITE_NAME} {release.version}",
        "configs": configs,
    }
    header = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
    # A data file in English, the Hub's convention: the same words and
    # number formats whatever language the worker runs in.
    with translation.override("en"):
        body = card_markdown(card=card)
    return f"---\n{header}---\n\n{body}"


def release_notes(*, release: Release, stats: ReleaseStats) -> ReleaseNotes:
    """Corpora and documents added and removed since the previous release,
    and words by license, as data (``release_notes_markdown`` and the
    release page put it into words)."""
    previous = (
        Release.objects.filter(status=JobStatus.DONE, created_at__lt=release.created_at)
        .exclude(pk=release.pk)
        .order_by("-created_at")
        .only("version", "stats")
        .first()
    )
    before = previous.stats.get("corpora", {}) if previous else {}
    now = stats["corpora"]
    added = sorted(set(now) - set(before), key=int)
    removed = sorted(set(before) - set(now), key=int)
    both = set(now) & set(before)
    docs_added = sum(now[c]["documents"] for c in added) + sum(
        max(0, now[c]["documents"] - before[c]["documents"]) for c in both
    )
    docs_removed = sum(before[c]["documents"] for c in removed) + sum(
        max(0, before[c]["documents"] - now[c]["documents"]) for c in both
    )
    old_words = previous.stats.get("words_by_license", {}) if previous else {}
    new_words = stats["words_by_license"]
    return {
        "previous": previous.version if previous else None,
        "corpora_added": [int(c) for c in added],
        "corpora_removed": [int(c) for c in removed],
        "documents_added": docs_added,
        "documents_removed": docs_removed,
        "removed_on_request": len(stats["removed_ids"]),
        # A license the previous release had and this one has not shows as
        # a loss of all its words.
        "words_by_license": [
            {"license": name, "words": new_words.get(name, 0),
             "change": new_words.get(name, 0) - old_words.get(name, 0)}
            for name in sorted(set(new_words) | set(old_words))
        ],
    }


def release_notes_summary(*, notes: ReleaseNotes) -> str:
    """The notes in one sentence, in the active language and its number
    formats (the Atom feed; the release page has a table)."""

    def shown(n: int) -> str:
        return number_format(n, use_l10n=True, force_grouping=True)

    lead = (
        _("Compared with the release %(previous)s:") % {"previous": notes["previous"]}
        if notes.get("previous") else _("The first release:")
    )
    added, removed = len(notes.get("corpora_added", [])), len(notes.get("corpora_removed", []))
    documents_added, documents_removed = notes.get("documents_added", 0), notes.get("documents_removed", 0)
    parts = [
        ngettext("%(counter)s corpus added", "%(counter)s corpora added", added) % {"counter": shown(added)},
        ngettext("%(counter)s corpus removed", "%(counter)s corpora removed", removed) % {"counter": shown(removed)},
        ngettext("%(shown)s document added", "%(shown)s documents added", documents_added) % {
            "shown": shown(documents_added)},
        ngettext("%(shown)s document removed", "%(shown)s documents removed", documents_removed) % {
            "shown": shown(documents_removed)},
    ]
    return f"{lead} {', '.join(parts)}."


def release_notes_markdown(*, version: str, notes: ReleaseNotes) -> str:
    """The notes as an English Markdown text, a data file like the card."""

    def ids(values: list[int]) -> str:
        return f" ({', '.join(str(v) for v in values)})" if values else ""

    # English grouping whatever the locale: "37,304".
    lines = [f"# {version}", ""]
    lines.append(f"Previous release: {notes['previous']}" if notes["previous"] else "First release.")
    lines += [
        "",
        f"- Corpora added: {len(notes['corpora_added']):,}{ids(notes['corpora_added'])}",
        f"- Corpora removed: {len(notes['corpora_removed']):,}{ids(notes['corpora_removed'])}",
        f"- Documents added: {notes['documents_added']:,}",
        f"- Documents removed: {notes['documents_removed']:,}",
        f"- Documents removed on request: {notes['removed_on_request']:,}",
        "",
        "Words by license:",
        "",
    ]
    lines += [f"- {row['license']}: {row['words']:,} ({row['change']:+,d})" for row in notes["words_by_license"]]
    return "\n".join(lines) + "\n"


def release_export(*, release: Release, out: Path) -> list[Path]:
    """Copy a built release's files from storage into ``out``."""
    if release.status != JobStatus.DONE:
        raise ValidationError(_("This release is not built."))
    written = []
    for entry in release.files:
        target = out / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(f"{release.prefix}/{entry['path']}", "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        written.append(target)
    return written


def release_publish(*, release: Release, repo_id: str, token: str | None = None, dry_run: bool = False) -> dict:
    """Publish to a Hugging Face Hub dataset repository in one commit (the
    Hub limits commits per hour). ``dry_run`` lists what would be sent."""
    from huggingface_hub import CommitOperationAdd, HfApi

    if release.status != JobStatus.DONE:
        raise ValidationError(_("This release is not built."))
    plan = {
        "repo_id": repo_id,
        "commit_message": f"Release {release.version}",
        "files": [entry["path"] for entry in release.files],
        "dry_run": dry_run,
    }
    if dry_run:
        return plan
    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        release_export(release=release, out=Path(tmp))
        operations = [
            CommitOperationAdd(path_in_repo=entry["path"], path_or_fileobj=str(Path(tmp) / entry["path"]))
            for entry in release.files
        ]
        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        commit = api.create_commit(
            repo_id=repo_id, repo_type="dataset", operations=operations, commit_message=f"Release {release.version}"
        )
    plan["commit_url"] = str(commit.commit_url)
    return plan


RELEASE = register(
    JobKind(
        name="release",
        label=gettext_lazy("Releases"),
        model=Release,
        task="contributions.tasks.build_release",
        run=release_build,
        folder="releases",
        # A build is long and its errors come from its inputs: a maintainer
        # looks and tries again from the operations page.
        max_attempts=3,
        retry=Retry.NEVER,
        describe=lambda release: release.version,
    )
)
