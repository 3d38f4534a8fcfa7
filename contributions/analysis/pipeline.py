"""The analysis of a corpus, streamed document by document.

``DocumentAnalyzer`` holds the per-corpus state (duplicates, counters, the
sample) and turns raw documents into rows; ``analysis_run`` is the work of an
analysis job (the job runner claims the run and owns its files): it feeds it
every file, writes the Parquet shards to storage and returns the report. The
benchmark drives ``DocumentAnalyzer`` directly.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial
from itertools import takewhile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import lifecycle
from ..jobs import (
    Done,
    JobContext,
    JobFailed,
    JobKind,
    JobParked,
    Retry,
    delete_prefix,
    job_cancel,
    job_enqueue,
    job_wake,
    register,
)
from ..lifecycle import corpus_transition, corpus_try_transition
from ..models import (
    AnalysisPart,
    AnalysisRun,
    Corpus,
    CorpusFile,
    CorpusLanguage,
    CorpusStatus,
    DocumentFingerprint,
    JobStatus,
)
from ..payloads import (
    AnalysisMergeState,
    AnalysisReport,
    AnalysisSummary,
    FailureReport,
    ReportProblem,
    SampleDocument,
)
from ..texts import Message, message, message_dump, message_load
from .dedup import NUM_PERM, NearDuplicateIndex, signatures
from .formats import (
    EntryRange,
    FileRejected,
    FormatOptions,
    LineRange,
    Problem,
    RawDoc,
    ReadProgress,
    check_expansion,
    csv_ranges,
    document_boundary,
    line_ranges,
    lines_before,
    parquet_ranges,
    read_documents,
    rows_before,
    safe_name,
    zip_ranges,
)
from .text import (
    MIXED_LANGUAGE_SHARE,
    PII_KINDS,
    QUALITY_FLAGS,
    content_hash,
    detect_language,
    find_personal_data,
    normalize,
    personal_data_key,
    quality_signals,
)

logger = logging.getLogger(__name__)

PROCESSING_VERSION = "analysis-3"
BATCH_ROWS = 1000
BATCH_MAX_CHARS = 16 * 1024**2  # a batch's texts stay in memory: bound them
SHARD_MAX_CHARS = 256 * 1024**2
SAMPLE_SIZE = 30
SAMPLE_TEXT_CHARS = 4000
MAX_PROBLEMS_KEPT = 200
LENGTH_BUCKETS = [100, 300, 1_000, 3_000, 10_000, 30_000, 100_000]

SCHEMA = pa.schema(
    [
        ("doc_index", pa.int64()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("text", pa.large_string()),
        ("chars", pa.int64()),
        ("words", pa.int64()),
        ("language", pa.string()),
        ("language_score", pa.float32()),
        ("language_share", pa.float32()),
        ("hash", pa.int64()),
        ("duplicate_of", pa.int64()),
        ("duplicate_accepted", pa.bool_()),
        *[(f"pii_{kind}", pa.int32()) for kind in PII_KINDS],
        ("pii_keys", pa.list_(pa.string())),
        ("flags", pa.list_(pa.string())),
        ("symbol_ratio", pa.float32()),
        ("repeated_line_ratio", pa.float32()),
        ("top_ngram_ratio", pa.float32()),
        ("stop_words", pa.int32()),
        ("mojibake_fixed", pa.bool_()),
        ("meta", pa.string()),
        # Kept so that a release finds near-duplicates across corpora
        # without hashing every text again.
        ("minhash", pa.list_(pa.uint32())),
    ]
)


class DocumentAnalyzer:
    def __init__(
        self, *, workdir: Path, seed: str, accepted_lookup=None, declared_languages: Iterable[str] = (),
        near_index: bool = True,
    ) -> None:
        self.declared_languages = frozenset(declared_languages)
        # A part of a split analysis leaves near-duplicates to the merge.
        self.near = NearDuplicateIndex(workdir / "near-duplicates") if near_index else None
        self.seen: dict[int, int] = {}
        self.accepted_lookup = accepted_lookup
        self.rng = random.Random(seed)
        self.sample: list[SampleDocument] = []
        self.documents = self.characters = self.words = 0
        self.languages: Counter[str] = Counter()
        self.pii_docs: Counter[str] = Counter()
        self.pii_occurrences: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()
        self.lengths = [0] * (len(LENGTH_BUCKETS) + 1)
        self.exact_within = self.exact_accepted = 0
        self.mojibake = self.controls = self.replacements = 0
        self.empty = 0
        self.problems: list[ReportProblem] = []
        self.problems_total = 0
        self.files: dict[str, Counter[str]] = {}

    def problem(self, problem: Problem) -> None:
        self.problems_total += 1
        self._file(problem.source.split("/")[0])["problems"] += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append({"source": problem.source, "line": problem.line, "message": problem.message})

    def _file(self, name: str) -> Counter[str]:
        return self.files.setdefault(name, Counter())

    def rows(self, docs: Iterable[RawDoc]) -> Iterator[dict]:
        """Analyse documents; yields one row per kept document."""
        for raw in docs:
            clean = normalize(raw.text)
            text = clean.text
            if not text:
                self.empty += 1
                self.problem(Problem(raw.source, raw.line, message("document.empty")))
                continue
            index = self.documents
            self.documents += 1
            self._file(raw.source.split("/")[0])["documents"] += 1
            digest = content_hash(text)
            duplicate_of = self.seen.get(digest)
            if duplicate_of is None:
                self.seen[digest] = index
            else:
                self.exact_within += 1
            language = detect_language(text, self.declared_languages)
            found = find_personal_data(text)
            pii = Counter(item.kind for item in found)
            words = text.split()
            quality = quality_signals(text, language.code, words)
            if language.share < MIXED_LANGUAGE_SHARE:
                quality.flags.append("mixed_language")

            self.characters += len(text)
            self.words += quality.words
            self.languages[language.code] += 1
            for kind, count in pii.items():
                self.pii_docs[kind] += 1
                self.pii_occurrences[kind] += count
            self.flags.update(quality.flags)
            self.lengths[sum(1 for bound in LENGTH_BUCKETS if len(text) >= bound)] += 1
            self.mojibake += clean.mojibake_fixed
            self.controls += bool(clean.controls_removed)
            self.replacements += bool(clean.replacement_chars)
            row = {
                "doc_index": index,
                "source": raw.source,
                "line": raw.line,
                "text": text,
                "chars": len(text),
                "words": quality.words,
                "language": language.code,
                "language_score": language.score,
                "language_share": language.share,
                "hash": digest,
                "duplicate_of": duplicate_of,
                "duplicate_accepted": False,
                **{f"pii_{kind}": pii.get(kind, 0) for kind in PII_KINDS},
                "pii_keys": sorted({personal_data_key(item) for item in found}),
                "flags": quality.flags,
                "symbol_ratio": quality.symbol_ratio,
                "repeated_line_ratio": quality.repeated_line_ratio,
                "top_ngram_ratio": quality.top_ngram_ratio,
                "stop_words": quality.stop_words,
                "mojibake_fixed": clean.mojibake_fixed,
                "meta": orjson.dumps(raw.meta, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
                if raw.meta
                else None,
            }
            self._maybe_sample(row, found)
            yield row

    def _maybe_sample(self, row: dict, found) -> None:
        entry = self._sample_slot()
        if entry is not None:
            self._sample_put(entry, row, found)

    def _sample_slot(self) -> int | None:
        """Where the document just counted goes in the sample, if it does.
        Reservoir sampling: every document has the same chance, and the seed
        makes the sample the same at every run of the same version."""
        if len(self.sample) < SAMPLE_SIZE:
            return len(self.sample)
        j = self.rng.randrange(self.documents)
        return j if j < SAMPLE_SIZE else None

    def _sample_put(self, entry: int, row: dict, found) -> None:
        document: SampleDocument = {
            "doc_index": row["doc_index"],
            "source": row["source"],
            "line": row["line"],
            "language": row["language"],
            "flags": row["flags"],
            "personal_data": [
                {"kind": item.kind, "start": item.start, "end": item.end}
                for item in found
                if item.end <= SAMPLE_TEXT_CHARS
            ],
            "text": row["text"][:SAMPLE_TEXT_CHARS],
            "truncated": row["chars"] > SAMPLE_TEXT_CHARS,
        }
        if entry == len(self.sample):
            self.sample.append(document)
        else:
            self.sample[entry] = document

    def finish_batch(self, rows: list[dict]) -> None:
        """Signatures for a batch of rows, in one call; documents that are
        not exact duplicates go into the near-duplicate index."""
        batch_signatures = signatures([row["text"] for row in rows])
        for row, signature in zip(rows, batch_signatures):
            row["minhash"] = signature
        if self.near is not None:
            firsts = [i for i, row in enumerate(rows) if row["duplicate_of"] is None]
            self.near.add([rows[i]["doc_index"] for i in firsts], batch_signatures[firsts])
        self.mark_accepted_duplicates(rows)

    def mark_accepted_duplicates(self, rows: list[dict]) -> None:
        if not self.accepted_lookup:
            return
        known = self.accepted_lookup({row["hash"] for row in rows})
        for row in rows:
            if row["hash"] in known:
                row["duplicate_accepted"] = True
                self.exact_accepted += 1

    def summary(self) -> AnalysisSummary:
        """The counters of a part of a split analysis."""
        return {
            "documents": self.documents, "characters": self.characters, "words": self.words,
            "languages": list(self.languages.items()), "pii_docs": dict(self.pii_docs),
            "pii_occurrences": dict(self.pii_occurrences), "flags": dict(self.flags), "lengths": self.lengths,
            "exact_accepted": self.exact_accepted, "mojibake": self.mojibake, "controls": self.controls,
            "replacements": self.replacements, "empty": self.empty, "problems": self.problems,
            "problems_total": self.problems_total,
            "files": {name: dict(counts) for name, counts in self.files.items()},
        }

    def absorb(self, summary: AnalysisSummary, line_offset: int) -> None:
        """Add a part's counters (its documents are counted by the merge);
        its problems' lines are counted from its range's first line."""
        self.characters += summary["characters"]
        self.words += summary["words"]
        for language, count in summary["languages"]:
            self.languages[language] += count
        self.pii_docs.update(summary["pii_docs"])
        self.pii_occurrences.update(summary["pii_occurrences"])
        self.flags.update(summary["flags"])
        self.lengths = [a + b for a, b in zip(self.lengths, summary["lengths"], strict=True)]
        self.exact_accepted += summary["exact_accepted"]
        self.mojibake += summary["mojibake"]
        self.controls += summary["controls"]
        self.replacements += summary["replacements"]
        self.empty += summary["empty"]
        self.problems_total += summary["problems_total"]
        for problem in summary["problems"][: MAX_PROBLEMS_KEPT - len(self.problems)]:
            line = problem["line"]
            self.problems.append({**problem, "line": line + line_offset if line is not None else None})
        for name, counts in summary["files"].items():
            self._file(name).update(counts)

    def problems_report(self) -> FailureReport:
        """What a failed run keeps: the records it skipped, and why."""
        return {
            "processing_version": PROCESSING_VERSION,
            "documents": self.documents,
            "problems": self.problems,
            "problems_total": self.problems_total,
            "files": {name: dict(counts) for name, counts in sorted(self.files.items())},
        }

    def report(self, near_duplicates: dict[int, int], bytes_read: int) -> AnalysisReport:
        n = self.documents or 1

        def rate(count: int) -> float:
            return round(count / n, 4)

        labels = (
            [f"< {LENGTH_BUCKETS[0]}"]
            + [f"{a}–{b}" for a, b in zip(LENGTH_BUCKETS, LENGTH_BUCKETS[1:])]
            + [f"≥ {LENGTH_BUCKETS[-1]}"]
        )
        return {
            "processing_version": PROCESSING_VERSION,
            "documents": self.documents,
            "characters": self.characters,
            "words": self.words,
            "bytes_read": bytes_read,
            "skipped": {"empty": self.empty, "problems": self.problems_total - self.empty},
            "problems": self.problems,
            "problems_total": self.problems_total,
            "files": {name: dict(counts) for name, counts in sorted(self.files.items())},
            "languages": [
                {"language": lang, "documents": count, "rate": rate(count)}
                for lang, count in self.languages.most_common()
            ],
            "personal_data": {
                kind: {
                    "documents": self.pii_docs[kind],
                    "occurrences": self.pii_occurrences[kind],
                    "rate": rate(self.pii_docs[kind]),
                }
                for kind in PII_KINDS
            },
            "duplicates": {
                "exact_within": self.exact_within,
                "exact_within_rate": rate(self.exact_within),
                "exact_accepted": self.exact_accepted,
                "exact_accepted_rate": rate(self.exact_accepted),
                "near_within": len(near_duplicates),
                "near_within_rate": rate(len(near_duplicates)),
            },
            "quality": {
                flag: {"documents": self.flags[flag], "rate": rate(self.flags[flag])} for flag in QUALITY_FLAGS
            },
            "length_histogram": [{"label": label, "documents": count} for label, count in zip(labels, self.lengths)],
            "encoding": {
                "mojibake_fixed": self.mojibake,
                "control_characters_removed": self.controls,
                "replacement_characters": self.replacements,
            },
            "sample": sorted(self.sample, key=lambda s: s["doc_index"]),
        }


class ShardWriter:
    """Parquet shards of bounded size, written locally, then kept by
    ``save`` (a job's ``JobContext.save_path``), which returns the stored name."""

    def __init__(self, workdir: Path, save: Callable[[str, Path], str], schema: pa.Schema = SCHEMA) -> None:
        self.workdir, self.save, self.schema = workdir, save, schema
        self.names: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._chars = 0

    def write(self, rows: list[dict]) -> None:
        if rows:
            # Column by column: much faster than pyarrow's row-wise conversion.
            columns = {name: [row[name] for row in rows] for name in self.schema.names}
            self.write_table(pa.table(columns, schema=self.schema))

    def write_table(self, table: pa.Table) -> None:
        if self._writer is None:
            self._path = self.workdir / f"shard-{len(self.names):05d}.parquet"
            self._writer = pq.ParquetWriter(self._path, self.schema, compression="zstd")
        self._writer.write_table(table)
        self._chars += pc.sum(table.column("chars")).as_py() or 0
        if self._chars >= SHARD_MAX_CHARS:
            self.close_shard()

    def close_shard(self) -> None:
        if self._writer is None or self._path is None:
            return
        self._writer.close()
        self.names.append(self.save(self._path.name, self._path))
        self._path.unlink()
        self._writer, self._path, self._chars = None, None, 0

    def save_table(self, name: str, table: pa.Table) -> str:
        path = self.workdir / name
        pq.write_table(table, path, compression="zstd")
        saved = self.save(name, path)
        path.unlink()
        return saved


# ---------------------------------------------------------------- the job


def _accepted_lookup(corpus_id: int) -> Callable[[set[int]], set[int]]:
    def lookup(hashes: set[int]) -> set[int]:
        return set(
            DocumentFingerprint.objects.filter(hash__in=hashes, corpus__status__in=lifecycle.PUBLISHED)
            .exclude(corpus_id=corpus_id)
            .values_list("hash", flat=True)
        )

    return lookup


def _budget(size: int) -> float:
    return settings.ANALYSIS_BUDGET_SECONDS + settings.ANALYSIS_BUDGET_SECONDS_PER_MB * size / 1e6


# A parked split analysis looks at its parts again after this long, should
# the wake of its last part be lost.
PARK_RECHECK_SECONDS = 600
# Formats a large file of which is cut in ranges of records (plain text too,
# when its documents end at a line the bytes show).
SPLIT_FORMATS = {"jsonl", "parquet", "csv", "tsv", "zip"}


def analysis_run(run: AnalysisRun, context: JobContext) -> Done[AnalysisRun]:
    """The work of an analysis job: every file of the corpus version, to
    Parquet shards and a report. A large corpus is planned in parts that
    any worker analyses (``analysis_part_run``); the run waits for them,
    parked, then merges them."""
    corpus = run.corpus
    if corpus.status == CorpusStatus.SUBMITTED:
        corpus_try_transition(corpus_id=corpus.id, to=CorpusStatus.PROCESSING, expected_version=run.corpus_version)
    files = list(CorpusFile.objects.filter(corpus=corpus).order_by("id"))
    if not files:
        raise JobFailed(message("analysis.no_file"))
    total = sum(f.size for f in files)
    parts = list(run.parts.order_by("number"))
    if parts:
        if any(part.status in (JobStatus.FAILED, JobStatus.CANCELLED) for part in parts):
            raise JobFailed(message("analysis.part_failed"))  # its failure failed the run first, normally
        done = [part for part in parts if part.status == JobStatus.DONE]
        # A claim starts its progress at zero: the parts' is what counts.
        context.beat(force=True, progress_done=sum(part.progress_total for part in done),
                     documents_done=sum(part.documents for part in done))
        if len(done) < len(parts):
            # Woken because the next part to merge was left done and unmerged.
            _merge_ready(run, context)
            # A part that ends while this looks missed the run (it was not
            # queued): the parking transaction looks once more.
            raise JobParked(PARK_RECHECK_SECONDS, then=partial(_wake_if_due, run))
        return _merge(run, corpus, parts, context, total)
    plan = _plan(files, context.beat)
    if len(plan) > 1:
        raise JobParked(PARK_RECHECK_SECONDS, then=partial(_parts_create, run, plan, total))
    context.beat(force=True, progress_total=total, documents_done=0)
    # Earlier versions' fingerprints, and whatever an earlier attempt wrote.
    DocumentFingerprint.objects.filter(corpus=corpus).delete()
    analyzer = DocumentAnalyzer(
        workdir=context.workdir, seed=_seed(run), accepted_lookup=_accepted_lookup(corpus.id),
        declared_languages=corpus.languages,
    )
    shards = ShardWriter(context.workdir, context.save_path)
    try:
        done_before = 0
        for stored in files:
            with context.budget(_budget(stored.size), _too_slow(stored)):
                _analyse_file(corpus, stored, analyzer, shards, context, done_before, fingerprints=run)
            done_before += stored.size
            context.beat(force=True, progress_done=done_before, documents_done=analyzer.documents)
        if not analyzer.documents:
            # The problems met on the way say why nothing was usable.
            raise JobFailed(message("analysis.nothing_usable"), report=analyzer.problems_report())
    except FileRejected as exc:
        raise JobFailed(exc.problem.as_message(), report=analyzer.problems_report()) from None
    except JobFailed as exc:
        raise JobFailed(exc.message, report=analyzer.problems_report()) from None
    shards.close_shard()
    return _finish(run, analyzer, shards, context, total)


def _seed(run: AnalysisRun) -> str:
    return f"{run.corpus_id}-{run.corpus_version}"


def _too_slow(stored: CorpusFile) -> Message:
    return message("analysis.too_slow", name=safe_name(stored.original_name), seconds=int(_budget(stored.size)))


def _finish(
    run: AnalysisRun, analyzer: DocumentAnalyzer, shards: ShardWriter, context: JobContext, total: int
) -> Done[AnalysisRun]:
    """Near-duplicates, their side table and the report, once every
    document is in the shards."""
    assert analyzer.near is not None
    with context.budget(_budget(total), message("analysis.near_too_slow")):
        near = analyzer.near.duplicates()
        context.beat()
    sidecar = shards.save_table(
        "near_duplicates.parquet",
        pa.table(
            {"doc_index": list(near), "duplicate_of": list(near.values())},
            schema=pa.schema([("doc_index", pa.int64()), ("duplicate_of", pa.int64())]),
        ),
    )
    return Done(
        fields={
            "report": analyzer.report(near, total),
            "shards": shards.names,
            "near_duplicates": sidecar,
            "documents_done": analyzer.documents,
        },
        then=_analysed,
    )


# ---------------------------------------------------------------- parts


class PlannedPart(NamedTuple):
    file: CorpusFile  # the first of its files
    files: int
    start: int
    end: int | None  # a range of ``file`` when not None
    size: int


def _plan(files: list[CorpusFile], beat: Callable[[], object]) -> list[PlannedPart]:
    """The parts of an analysis, in the order of the documents; one part
    when the corpus is not larger than a part. Files under a part's size go
    together, whole; larger ones are cut between records where their format
    allows."""
    part_bytes = settings.ANALYSIS_PART_BYTES
    if sum(f.size for f in files) <= part_bytes:
        return [PlannedPart(files[0], len(files), 0, None, sum(f.size for f in files))]
    plan: list[PlannedPart] = []
    together: list[CorpusFile] = []
    together_bytes = 0

    def close() -> None:
        nonlocal together_bytes
        if together:
            plan.append(PlannedPart(together[0], len(together), 0, None, together_bytes))
            together.clear()
            together_bytes = 0

    for stored in files:
        boundary = document_boundary(_options(stored)) if stored.format in {"txt", "md"} else None
        if stored.size > part_bytes and (stored.format in SPLIT_FORMATS or boundary is not None):
            close()
            with stored.file.open("rb") as handle:
                if stored.format == "parquet":
                    ranges = parquet_ranges(handle, size=stored.size, part_bytes=part_bytes)
                elif stored.format == "zip":
                    ranges = zip_ranges(handle, size=stored.size, part_bytes=part_bytes)
                elif stored.format in {"csv", "tsv"}:
                    ranges = csv_ranges(handle, size=stored.size, part_bytes=part_bytes, fmt=stored.format,
                                        options=_options(stored), beat=beat)
                else:
                    ranges = line_ranges(handle, size=stored.size, part_bytes=part_bytes, beat=beat,
                                         boundary=boundary)
            plan += [PlannedPart(stored, 1, start, end, end - start) for start, end in ranges]
            continue
        if together and together_bytes + stored.size > part_bytes:
            close()
        together.append(stored)
        together_bytes += stored.size
    close()
    return plan


def _parts_create(run: AnalysisRun, plan: list[PlannedPart], total: int) -> None:
    """In the transaction that parks the run: its parts, the first few due
    now (their messages sent on commit), the others held back until a part
    ends, so that other corpora's analyses never wait behind them all."""
    # Earlier versions' fingerprints, and whatever an earlier attempt wrote:
    # the parts' merges write this run's from now on.
    DocumentFingerprint.objects.filter(corpus_id=run.corpus_id).delete()
    now = timezone.now()
    in_flight = max(1, settings.ANALYSIS_PARTS_IN_FLIGHT)
    parts = AnalysisPart.objects.bulk_create(
        AnalysisPart(
            run=run, number=number, file=planned.file, file_count=planned.files, start=planned.start,
            end=planned.end, progress_total=planned.size,
            run_after=now if number < in_flight else now + timedelta(days=365),
        )
        for number, planned in enumerate(plan)
    )
    AnalysisRun.objects.filter(pk=run.pk).update(parts_count=len(parts), progress_total=total, progress_done=0,
                                                 documents_done=0)
    for part in parts[:in_flight]:
        job_enqueue(part)


def _wake_if_due(run: AnalysisRun) -> None:
    # The parking update holds the run's row: a part ending now waits for
    # this transaction, then finds the run queued and wakes it itself.
    if not run.parts.exclude(status=JobStatus.DONE).exists() or _next_to_merge_is_done(run.pk):
        job_wake(run)


def _next_to_merge_is_done(run_id: int) -> bool:
    merged = AnalysisRun.objects.filter(pk=run_id).values_list("merged_parts", flat=True).first()
    if merged is None:
        return False
    return AnalysisPart.objects.filter(run_id=run_id, number=merged, status=JobStatus.DONE).exists()


def analysis_part_run(part: AnalysisPart, context: JobContext) -> Done[AnalysisPart]:
    """The work of one part: its documents, numbered from 0, to Parquet
    shards and counters; no fingerprint, no near-duplicate: the merge
    numbers the documents in the corpus and does those."""
    context.beat(force=True)
    run = part.run
    if run.status not in lifecycle.JOB_ACTIVE:
        raise JobFailed(message("analysis.run_ended"))
    corpus = run.corpus
    files = list(CorpusFile.objects.filter(corpus=corpus, id__gte=part.file_id or 0).order_by("id")[: part.file_count])
    if part.file_id is None or len(files) < part.file_count or files[0].pk != part.file_id:
        raise JobFailed(message("analysis.part_file_removed"))
    analyzer = DocumentAnalyzer(
        workdir=context.workdir, seed=_seed(run), accepted_lookup=_accepted_lookup(corpus.id),
        declared_languages=corpus.languages, near_index=False,
    )
    shards = ShardWriter(context.workdir, context.save_path)
    lines = chars = done_before = 0
    stored = files[0]
    try:
        for stored in files:
            size = part.progress_total if part.end is not None else stored.size
            with context.budget(_budget(size), _too_slow(stored)):
                lines, chars = _analyse_file(corpus, stored, analyzer, shards, context, done_before, part=part)
            done_before += size
        shards.close_shard()
    except (FileRejected, JobFailed) as exc:
        # What a failed part reports counts its lines in the file, as an
        # analysis in one part would.
        offset = _lines_before(part, stored)
        summary = analyzer.summary()
        summary["problems"] = [
            {**problem, "line": problem["line"] + offset if problem["line"] is not None else None}
            for problem in summary["problems"]
        ]
        if isinstance(exc, JobFailed):
            raise JobFailed(exc.message, summary=summary) from None
        line = exc.problem.line + offset if exc.problem.line is not None else None
        raise JobFailed(Problem(exc.problem.source, line, exc.problem.message).as_message(), summary=summary) from None
    part.documents, part.lines, part.chars, part.shards = analyzer.documents, lines, chars, shards.names
    _merge_from(run, part, context)
    return Done(
        fields={"documents": analyzer.documents, "lines": lines, "chars": chars, "shards": shards.names,
                "summary": analyzer.summary()},
        then=_part_done,
    )


def _part_done(part: AnalysisPart) -> None:
    """In the transaction that ends a part: the run's progress, the next
    part held back, and the run itself once every part is done."""
    # Parts that end together take turns here, so that one of them sees
    # every part done.
    run = AnalysisRun.objects.select_for_update().filter(pk=part.run_id).first()
    if run is None or run.status not in lifecycle.JOB_ACTIVE:
        return
    waiting = run.parts.filter(status=JobStatus.QUEUED, run_after__gt=timezone.now()).order_by("number").first()
    if waiting is not None:
        job_wake(waiting)
    done = run.parts.filter(status=JobStatus.DONE).aggregate(bytes=Sum("progress_total"), documents=Sum("documents"))
    AnalysisRun.objects.filter(pk=run.pk).update(progress_done=done["bytes"] or 0,
                                                 documents_done=done["documents"] or 0)
    # The next part to merge, done and left unmerged (the worker that merged
    # the part before looked before it was done, and its own worker before
    # that one was merged; or a worker died between two merges): the run
    # merges it, rather than wait for the last part.
    if not run.parts.exclude(status=JobStatus.DONE).exists() or _next_to_merge_is_done(run.pk):
        job_wake(run)


def _lines_before(part: AnalysisPart, stored: CorpusFile) -> int:
    """The lines (Parquet: rows) of the file before the part's range, which
    the part counts from 1; none for an archive's members, which count
    their own."""
    if part.end is None or not part.start or stored.format == "zip":
        return 0
    try:
        with stored.file.open("rb") as handle:
            if stored.format == "parquet":
                return rows_before(handle, size=stored.size, offset=part.start)
            return lines_before(handle, part.start)
    except (OSError, FileRejected):
        return 0  # the file is gone or broken: the part's own count is all there is


def analysis_part_failed(part: AnalysisPart, reason: str) -> None:
    """A part that cannot be analysed fails its run (the corpus, with the
    part's reason, and the problems met up to it as in one part) and stops
    the other parts."""
    failed = AnalysisPart.objects.filter(pk=part.pk).values_list("summary", flat=True).first()
    run = AnalysisRun.objects.filter(pk=part.run_id).first()
    if run is None:
        return
    # The parts before it that are done, then its own (lines in its file).
    report = DocumentAnalyzer(workdir=Path(settings.JOB_WORK_DIR), seed="", near_index=False)
    earlier = run.parts.filter(number__lt=part.number).order_by("number")
    done = list(takewhile(lambda earlier: earlier.status == JobStatus.DONE, earlier))
    _absorb(report, done)
    report.documents = sum(earlier.documents for earlier in done)
    if failed:
        report.absorb(failed, 0)
        report.documents += failed["documents"]
    if AnalysisRun.objects.filter(pk=run.pk, status__in=lifecycle.JOB_ACTIVE).update(
        status=JobStatus.FAILED, error=reason[:5000], finished_at=timezone.now(), report=report.problems_report()
    ):
        analysis_failed(run, reason)
        for other in run.parts.filter(status__in=lifecycle.JOB_ACTIVE).exclude(pk=part.pk):
            job_cancel(other, reason=reason, settle=False)
        _merged_delete(run)
        _parts_files_delete(run)


def _merge(
    run: AnalysisRun, corpus: Corpus, parts: list[AnalysisPart], context: JobContext, total: int
) -> Done[AnalysisRun]:
    """The end of a split analysis, every part done: the parts not merged
    yet (the workers merge each as soon as it can be, so normally none),
    then what needs the whole corpus: near-duplicates and the report, as a
    single process would have made them."""
    with context.budget(_budget(total), message("analysis.merge_too_slow")):
        _merge_ready(run, context)
        run.refresh_from_db(fields=["merged_parts", "merge_state"])
        if run.merged_parts < len(parts):  # another worker holds it: never, every part is done
            raise JobFailed(message("analysis.merge_failed"))
        state: AnalysisMergeState = run.merge_state
        _merged_orphans_delete(run, state["shards"])
        analyzer = DocumentAnalyzer(workdir=context.workdir, seed=_seed(run), declared_languages=corpus.languages)
        assert analyzer.near is not None
        _absorb(analyzer, parts)
        analyzer.documents, analyzer.exact_within = state["documents"], state["exact_within"]
        analyzer.sample = state["sample"]
        for name in state["shards"]:
            _near_index_add(analyzer.near, name)
            context.beat()
    if not analyzer.documents:
        raise JobFailed(message("analysis.nothing_usable"), report=analyzer.problems_report())
    shards = ShardWriter(context.workdir, context.save_path)
    shards.names = list(state["shards"])
    context.saved_bytes += state.get("bytes", 0)  # the merged shards, saved by many workers
    return _finish(run, analyzer, shards, context, total)


def _absorb(analyzer: DocumentAnalyzer, parts: list[AnalysisPart]) -> None:
    """Done parts' counters, in order, their problems' lines in their file."""
    line_offset, previous_file = 0, None
    for part in parts:
        if part.file_id != previous_file:
            line_offset, previous_file = 0, part.file_id
        analyzer.absorb(part.summary, line_offset)
        line_offset += part.lines


def _merge_ready(run: AnalysisRun, context: JobContext) -> None:
    """The parts that are done and next to merge, in order."""
    while True:
        current = AnalysisRun.objects.filter(pk=run.pk, status__in=lifecycle.JOB_ACTIVE).first()
        if current is None:
            return
        following = current.parts.filter(number=current.merged_parts, status=JobStatus.DONE).first()
        if following is None or not _merge_part(current, following, context):
            return


def _merge_from(run: AnalysisRun, part: AnalysisPart, context: JobContext) -> None:
    """In a part's job, its work done: its part when the parts before it are
    merged, then the parts after the merged ones that are done. The merge
    goes on while the other parts are analysed, rather than all of it after
    the last."""
    current = AnalysisRun.objects.filter(pk=run.pk, status__in=lifecycle.JOB_ACTIVE).first()
    if current is None or current.merged_parts < part.number:
        return  # whoever merges the parts before this one goes on to it
    if current.merged_parts == part.number and not _merge_part(current, part, context):
        return
    # Merged, by this job or by an earlier attempt of it (whose worker may
    # have died before going on).
    _merge_ready(run, context)


def _merge_start(run: AnalysisRun) -> AnalysisMergeState:
    rng = random.Random(_seed(run)).getstate()
    return {"documents": 0, "file": None, "lines": 0, "chars": 0, "exact_within": 0, "sample": [], "rng": list(rng),
            "shards": [], "bytes": 0}


def _merged_folder(run: AnalysisRun) -> str:
    # Beside the run's attempts, whose folders go when the run ends: many
    # workers write here, on behalf of no attempt of the run in particular.
    return f"{ANALYSIS.storage_folder(run)}/merged"


def _merged_delete(run: AnalysisRun) -> None:
    DocumentFingerprint.objects.filter(run_id=run.pk).delete()
    transaction.on_commit(partial(delete_prefix, _merged_folder(run)))


def _merged_orphans_delete(run: AnalysisRun, kept: list[str]) -> None:
    """Shards of merges that never counted: their worker was killed before
    it could delete them (one that lost a race deletes its own)."""
    folder = _merged_folder(run)
    try:
        names = default_storage.listdir(folder)[1]
    except (FileNotFoundError, NotADirectoryError, OSError):
        return
    for name in set(names) - {shard.rsplit("/", 1)[-1] for shard in kept}:
        default_storage.delete(f"{folder}/{name}")


class _MergedElsewhere(Exception):
    """Another worker merged the part first."""


def _merge_part(run: AnalysisRun, part: AnalysisPart, context: JobContext) -> bool:
    """Part ``part``, the next to merge, into the run's merged shards: its
    documents numbered in the corpus, lines in their file, exact duplicates
    of the parts merged before (their fingerprints) and the sample drawn.
    Committed with the run's merge cursor in one transaction, so that of two
    workers merging the same part, one counts and the other's shards go.
    Returns whether this worker merged it."""
    state: AnalysisMergeState = run.merge_state or _merge_start(run)
    sampler = DocumentAnalyzer(workdir=context.workdir, seed=_seed(run), near_index=False)
    version, internal, gauss = state["rng"]
    sampler.rng.setstate((version, tuple(internal), gauss))
    sampler.sample, sampler.documents = list(state["sample"]), state["documents"]
    same_file = part.file_id == state["file"]
    line_offset = state["lines"] if same_file else 0
    chars = (state.get("chars", 0) if same_file else 0) + part.chars
    if part.end is not None and part.file is not None:
        # The file's parts so far gave more than the file may expand to: a
        # bomb, as its reading in one part would have found.
        try:
            check_expansion(safe_name(part.file.original_name), part.file.size, chars)
        except FileRejected as exc:
            raise JobFailed(exc.problem.as_message()) from None
    saved: list[str] = []
    saved_bytes = 0
    # Each merge its own names: two merging the same part at once must not
    # write to, nor delete, one file (storages such as S3 overwrite).
    prefix = f"{_merged_folder(run)}/part-{part.number:05d}-{uuid.uuid4().hex[:16]}"

    def save(name: str, path: Path) -> str:
        nonlocal saved_bytes
        with path.open("rb") as handle:
            file = File(handle)
            saved_bytes += file.size
            saved.append(default_storage.save(f"{prefix}-{name}", file))
        return saved[-1]

    workdir = context.workdir / f"merge-{part.number}"
    workdir.mkdir(exist_ok=True)
    shards = ShardWriter(workdir, save)
    seen: dict[int, int] = {}
    # The part's fingerprints wait on disk for the commit: a part of many
    # small documents would weigh far more as Python lists.
    fingerprints = (workdir / "fingerprints.bin").open("w+b")
    exact = 0
    try:
        for name in part.shards:
            with default_storage.open(name, "rb") as handle:
                parquet = pq.ParquetFile(handle)
                # Row group by row group: each is one batch of the part,
                # bounded in characters as it was written.
                for group in range(parquet.metadata.num_row_groups):
                    table = parquet.read_row_group(group)
                    _earlier_copies(run, table.column("hash").to_pylist(), seen)
                    table = _renumbered(table, state["documents"], line_offset, seen, sampler)
                    shards.write_table(table)
                    pairs = np.column_stack([table.column("hash").to_numpy(), table.column("doc_index").to_numpy()])
                    fingerprints.write(pairs.astype(np.int64).tobytes())
                    exact += table.num_rows - pc.sum(pc.is_null(table.column("duplicate_of"))).as_py()
                    context.beat()
        shards.close_shard()
        merged: AnalysisMergeState = {
            "documents": state["documents"] + part.documents, "file": part.file_id,
            "lines": line_offset + part.lines, "chars": chars, "exact_within": state["exact_within"] + exact,
            "sample": sampler.sample, "rng": list(sampler.rng.getstate()), "shards": state["shards"] + saved,
            "bytes": state.get("bytes", 0) + saved_bytes,
        }
        with context.fenced():
            if not AnalysisRun.objects.filter(
                pk=run.pk, merged_parts=part.number, status__in=lifecycle.JOB_ACTIVE
            ).update(merged_parts=part.number + 1, merge_state=merged):
                raise _MergedElsewhere
            fingerprints.seek(0)
            while chunk := fingerprints.read(16 * BATCH_ROWS):
                pairs = np.frombuffer(chunk, dtype=np.int64).reshape(-1, 2)
                _fingerprints_insert(run.corpus_id, run, pairs[:, 0].tolist(), pairs[:, 1].tolist())
    except BaseException as exc:
        for name in saved:
            default_storage.delete(name)
        if isinstance(exc, _MergedElsewhere):
            return False
        raise
    finally:
        fingerprints.close()
    return True


def _earlier_copies(run: AnalysisRun, hashes: list[int], seen: dict[int, int]) -> None:
    """Into ``seen``: the first document of the parts merged before with the
    same text as one of ``hashes``, found by their fingerprints."""
    unknown = {digest for digest in hashes if digest not in seen}
    if unknown:
        seen.update(
            DocumentFingerprint.objects.filter(run_id=run.pk, hash__in=unknown)
            .values("hash")
            .annotate(first=Min("doc_index"))
            .values_list("hash", "first")
        )


def _renumbered(
    table: pa.Table, offset: int, line_offset: int, seen: dict[int, int], analyzer: DocumentAnalyzer
) -> pa.Table:
    """A batch of a part's rows numbered in the corpus and in their file,
    with its exact duplicates across parts and the sample drawn, column by
    column: the texts are never turned into Python strings but for the
    sample."""
    first_index = offset + table.column("doc_index")[0].as_py()
    indexes = list(range(first_index, first_index + table.num_rows))
    duplicates: list[int | None] = []
    for index, digest in zip(indexes, table.column("hash").to_pylist(), strict=True):
        first = seen.setdefault(digest, index)
        duplicates.append(None if first == index else first)
        analyzer.documents = index + 1
        entry = analyzer._sample_slot()
        if entry is not None:
            row = table.slice(index - first_index, 1).to_pylist()[0]
            row.update(doc_index=index, line=row["line"] + line_offset if row["line"] is not None else None)
            analyzer._sample_put(entry, row, find_personal_data(row["text"]))
    schema = table.schema
    table = table.set_column(schema.get_field_index("doc_index"), "doc_index", pa.array(indexes, pa.int64()))
    table = table.set_column(
        schema.get_field_index("line"), "line", pc.add(table.column("line"), pa.scalar(line_offset, pa.int64()))
    )
    return table.set_column(schema.get_field_index("duplicate_of"), "duplicate_of", pa.array(duplicates, pa.int64()))


def _near_index_add(near: NearDuplicateIndex, name: str) -> None:
    """A merged shard's signatures into the near-duplicate index, but for
    exact duplicates (their first copy stands for them), as the documents
    streamed by."""
    with default_storage.open(name, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        for group in range(parquet.metadata.num_row_groups):
            table = parquet.read_row_group(group, columns=["doc_index", "duplicate_of", "minhash"])
            firsts = pc.is_null(table.column("duplicate_of")).to_numpy(zero_copy_only=False)
            signatures = np.asarray(table.column("minhash").combine_chunks().values, dtype=np.uint32)
            near.add(table.column("doc_index").to_numpy()[firsts], signatures.reshape(-1, NUM_PERM)[firsts])


def _analysed(run: AnalysisRun) -> None:
    # The figures go on the corpus row, for lists and statistics that must
    # never read a report: only for the version the corpus is at.
    report = run.report
    if Corpus.objects.filter(id=run.corpus_id, version=run.corpus_version).update(
        documents=report["documents"], words=report["words"], characters=report["characters"]
    ):
        CorpusLanguage.objects.filter(corpus_id=run.corpus_id).delete()
        CorpusLanguage.objects.bulk_create(
            CorpusLanguage(corpus_id=run.corpus_id, language=share["language"], documents=share["documents"])
            for share in report["languages"]
        )
    corpus_try_transition(
        corpus_id=run.corpus_id, to=CorpusStatus.AWAITING_REVIEW, expected_version=run.corpus_version, reason=""
    )
    _parts_files_delete(run)


def _parts_files_delete(run: AnalysisRun) -> None:
    """Once the run has merged them or ended, its parts' shards (a copy of
    the corpus's text) go, when the transaction commits."""
    for part in AnalysisPart.objects.filter(run_id=run.pk):
        transaction.on_commit(partial(delete_prefix, ANALYSIS_PART.storage_folder(part) or ""))


def _analyse_file(
    corpus: Corpus, stored: CorpusFile, analyzer: DocumentAnalyzer, shards: ShardWriter, context: JobContext,
    done_before: int, *, fingerprints: AnalysisRun | None = None, part: AnalysisPart | None = None,
) -> tuple[int, int]:
    """A file, or the range of it a part owns, through the analyzer; the
    fingerprints of its documents are written for ``fingerprints``'s run.
    Returns the number of lines a part's range holds, and the characters
    it gave."""
    options = _options(stored)
    # Progress in what is really read of the file, whatever it claims.
    size = part.progress_total if part is not None and part.end is not None else stored.size
    progress = ReadProgress(total=size)
    with stored.file.open("rb") as handle:
        lines: LineRange | EntryRange | None = None
        if part is not None and part.end is not None:
            if stored.format in {"parquet", "zip"}:
                # The reader needs the whole file (its footer, its directory);
                # its progress is in the range's bytes.
                lines, size = EntryRange(part.start, part.end), stored.size
            else:
                lines = LineRange(handle, part.start, part.end)
        items = read_documents(
            handle, name=stored.original_name, fmt=stored.format, options=options, size=size, progress=progress,
            byte_range=lines,
        )
        batch: list[dict] = []
        batch_chars = 0
        for row in analyzer.rows(_docs_only(items, analyzer, context)):
            batch.append(row)
            batch_chars += row["chars"]
            if len(batch) >= BATCH_ROWS or batch_chars >= BATCH_MAX_CHARS:
                _flush(corpus, analyzer, shards, batch, context, fingerprints)
                batch, batch_chars = [], 0
                if part is not None:  # a part counts its documents on its own row
                    context.beat(progress_done=done_before + progress.done, documents=analyzer.documents)
                else:
                    context.beat(progress_done=done_before + progress.done, documents_done=analyzer.documents)
        _flush(corpus, analyzer, shards, batch, context, fingerprints)
    return (lines.lines if lines is not None else 0), progress.chars


def _options(stored: CorpusFile) -> FormatOptions:
    return FormatOptions(split=stored.split, separator=stored.separator, text_column=stored.text_column)


def _docs_only(
    items: Iterable[RawDoc | Problem], analyzer: DocumentAnalyzer, context: JobContext
) -> Iterator[RawDoc]:
    for item in items:
        if isinstance(item, Problem):
            analyzer.problem(item)
            # A file of nothing but bad records still beats (and meets its budget).
            context.beat()
        else:
            yield item


def _flush(
    corpus: Corpus, analyzer: DocumentAnalyzer, shards: ShardWriter, batch: list[dict], context: JobContext,
    fingerprints: AnalysisRun | None,
) -> None:
    if not batch:
        return
    analyzer.finish_batch(batch)
    shards.write(batch)
    if fingerprints is not None:
        with context.fenced():
            _fingerprints_insert(corpus.pk, fingerprints, [row["hash"] for row in batch],
                                 [row["doc_index"] for row in batch])


def _fingerprints_insert(corpus_id: int, run: AnalysisRun, hashes: list[int], indexes: list[int]) -> None:
    """One row a document, in one statement a batch: model instances cost
    more than the insert itself at millions of documents."""
    table = connection.ops.quote_name(DocumentFingerprint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (corpus_id, run_id, hash, doc_index) VALUES (%s, %s, %s, %s)",  # noqa: S608
            [(corpus_id, run.pk, digest, index) for digest, index in zip(hashes, indexes, strict=True)],
        )


def analysis_failed(run: AnalysisRun, reason: str) -> None:
    """``reason``: the run's error as stored (a message)."""
    corpus_try_transition(
        corpus_id=run.corpus_id, to=CorpusStatus.FAILED, expected_version=run.corpus_version,
        reason=message_load(reason[:5000]),
    )


def analysis_retry(run: AnalysisRun) -> None:
    corpus = Corpus.objects.get(pk=run.corpus_id)
    if corpus.version != run.corpus_version or corpus.status != CorpusStatus.FAILED:
        raise ValidationError(_("The corpus has changed since this analysis: it is analysed when submitted again."))
    corpus_transition(corpus_id=corpus.id, to=CorpusStatus.SUBMITTED, expected_version=run.corpus_version, reason="")
    # A split analysis starts over, planned afresh.
    _parts_files_delete(run)
    _merged_delete(run)
    run.parts.all().delete()
    AnalysisRun.objects.filter(pk=run.pk).update(parts_count=0, merged_parts=0, merge_state={})


def analysis_part_retry(part: AnalysisPart) -> None:
    raise ValidationError(_("A part is not tried again on its own: try its analysis again."))


def analysis_cleanup(run: AnalysisRun) -> None:
    DocumentFingerprint.objects.filter(run_id=run.id).delete()
    for part in AnalysisPart.objects.filter(run_id=run.id, status__in=lifecycle.JOB_ACTIVE):
        job_cancel(part, reason=run.error or message_dump(message("job.cancelled")), settle=False)
    _parts_files_delete(run)


ANALYSIS = register(
    JobKind(
        name="analysis",
        label=gettext_lazy("Analyses"),
        model=AnalysisRun,
        task="contributions.tasks.analyse_corpus",
        run=analysis_run,
        folder="analysis",
        max_attempts=3,
        retry=Retry.NEVER,
        on_failure=analysis_failed,
        on_retry=analysis_retry,
        cleanup=analysis_cleanup,
        describe=lambda run: f"{run.corpus} v{run.corpus_version}",
        related=("corpus",),
    )
)

ANALYSIS_PART = register(
    JobKind(
        name="analysis_part",
        label=gettext_lazy("Analysis parts"),
        model=AnalysisPart,
        task="contributions.tasks.analyse_part",
        run=analysis_part_run,
        folder="analysis-parts",
        max_attempts=3,
        retry=Retry.NEVER,
        on_failure=analysis_part_failed,
        on_retry=analysis_part_retry,
        describe=lambda part: f"{part.run.corpus} v{part.run.corpus_version}, part {part.number + 1}",
        related=("run__corpus",),
    )
)
