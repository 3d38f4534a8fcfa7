"""The analysis of a corpus, streamed document by document.

``DocumentAnalyzer`` holds the per-corpus state (duplicates, counters, the
sample) and turns raw documents into rows; ``analysis_execute`` claims a run,
feeds it every file, writes the Parquet shards to storage and the report to
the database. The benchmark drives ``DocumentAnalyzer`` directly.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..jobs import job_claim
from ..lifecycle import corpus_try_transition
from ..models import (
    ACCEPTED_STATUSES,
    AnalysisRun,
    Corpus,
    CorpusFile,
    CorpusStatus,
    DocumentFingerprint,
    JobStatus,
)
from .dedup import NearDuplicateIndex, signatures
from .formats import FileRejected, FormatOptions, Problem, RawDoc, buffered, read_documents
from .text import (
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

PROCESSING_VERSION = "analysis-2"
BATCH_ROWS = 1000
BATCH_MAX_CHARS = 16 * 1024**2  # a batch's texts stay in memory: bound them
SHARD_MAX_CHARS = 256 * 1024**2
SAMPLE_SIZE = 30
SAMPLE_TEXT_CHARS = 4000
MAX_PROBLEMS_KEPT = 200
MAX_ATTEMPTS = 3
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


class Lost(Exception):
    """Another worker took the run over: stop without writing anything."""


class DocumentAnalyzer:
    def __init__(self, *, workdir: Path, seed: str, accepted_lookup=None) -> None:
        self.near = NearDuplicateIndex(workdir / "near-duplicates")
        self.seen: dict[int, int] = {}
        self.accepted_lookup = accepted_lookup
        self.rng = random.Random(seed)
        self.sample: list[dict] = []
        self.documents = self.characters = self.words = 0
        self.languages: Counter[str] = Counter()
        self.pii_docs: Counter[str] = Counter()
        self.pii_occurrences: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()
        self.lengths = [0] * (len(LENGTH_BUCKETS) + 1)
        self.exact_within = self.exact_accepted = 0
        self.mojibake = self.controls = self.replacements = 0
        self.empty = 0
        self.problems: list[dict] = []
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
                self.problem(Problem(raw.source, raw.line, _("empty document: skipped")))
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
            language, score = detect_language(text)
            found = find_personal_data(text)
            pii = Counter(item.kind for item in found)
            words = text.split()
            quality = quality_signals(text, language, words)

            self.characters += len(text)
            self.words += quality.words
            self.languages[language] += 1
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
                "language": language,
                "language_score": score,
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
        # Reservoir sampling: every document has the same chance, and the
        # seed makes the sample the same at every run of the same version.
        entry = None
        if len(self.sample) < SAMPLE_SIZE:
            entry = len(self.sample)
            self.sample.append({})
        else:
            j = self.rng.randrange(self.documents)
            if j < SAMPLE_SIZE:
                entry = j
        if entry is not None:
            self.sample[entry] = {
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

    def finish_batch(self, rows: list[dict]) -> None:
        """Signatures for a batch of rows, in one call; documents that are
        not exact duplicates go into the near-duplicate index."""
        batch_signatures = signatures([row["text"] for row in rows])
        for row, signature in zip(rows, batch_signatures):
            row["minhash"] = signature
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

    def report(self, near_duplicates: dict[int, int], bytes_read: int) -> dict:
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
    """Parquet shards of bounded size, written locally then saved to storage."""

    def __init__(self, workdir: Path, prefix: str, schema: pa.Schema = SCHEMA) -> None:
        self.workdir, self.prefix, self.schema = workdir, prefix, schema
        self.names: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._chars = 0

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        if self._writer is None:
            self._path = self.workdir / f"shard-{len(self.names):05d}.parquet"
            self._writer = pq.ParquetWriter(self._path, self.schema, compression="zstd")
        # Column by column: much faster than pyarrow's row-wise conversion.
        columns = {name: [row[name] for row in rows] for name in self.schema.names}
        self._writer.write_table(pa.table(columns, schema=self.schema))
        self._chars += sum(row["chars"] for row in rows)
        if self._chars >= SHARD_MAX_CHARS:
            self.close_shard()

    def close_shard(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        with self._path.open("rb") as handle:
            self.names.append(default_storage.save(f"{self.prefix}/{self._path.name}", File(handle)))
        self._path.unlink()
        self._writer, self._chars = None, 0

    def save_table(self, name: str, table: pa.Table) -> str:
        path = self.workdir / name
        pq.write_table(table, path, compression="zstd")
        with path.open("rb") as handle:
            saved = default_storage.save(f"{self.prefix}/{name}", File(handle))
        path.unlink()
        return saved


# ---------------------------------------------------------------- the job


def analysis_claim(*, run_id: int) -> AnalysisRun | None | bool:
    return job_claim(
        model=AnalysisRun, job_id=run_id, started_at=timezone.now(), bytes_done=0, documents_done=0
    )


def _progress(run: AnalysisRun, *, bytes_done: int, documents: int) -> None:
    """Heartbeat and progress in one write, which fails once the run belongs
    to another attempt or was cancelled."""
    updated = AnalysisRun.objects.filter(id=run.id, attempt=run.attempt, status=JobStatus.RUNNING).update(
        heartbeat_at=timezone.now(), bytes_done=bytes_done, documents_done=documents
    )
    if not updated:
        raise Lost


def _fail(run: AnalysisRun, message: str) -> None:
    with transaction.atomic():
        updated = AnalysisRun.objects.filter(id=run.id, attempt=run.attempt, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, error=message[:5000], finished_at=timezone.now()
        )
        if updated:
            corpus_try_transition(
                corpus_id=run.corpus_id, to=CorpusStatus.FAILED, expected_version=run.corpus_version,
                reason=message[:5000],
            )


def _accepted_lookup(corpus_id: int):
    def lookup(hashes: set[int]) -> set[int]:
        return set(
            DocumentFingerprint.objects.filter(hash__in=hashes, corpus__status__in=ACCEPTED_STATUSES)
            .exclude(corpus_id=corpus_id)
            .values_list("hash", flat=True)
        )

    return lookup


def analysis_execute(*, run_id: int) -> bool:
    """Run one analysis. Returns False when a live worker already has it,
    so that the task can look again later."""
    run = analysis_claim(run_id=run_id)
    if run is False:
        return False
    if run is None:
        return True
    if run.attempt > MAX_ATTEMPTS:
        _fail(
            run, _("the analysis stopped %(count)s times without finishing; ask a maintainer") % {"count": MAX_ATTEMPTS}
        )
        return True
    corpus = run.corpus
    if corpus.status == CorpusStatus.SUBMITTED:
        corpus_try_transition(corpus_id=corpus.id, to=CorpusStatus.PROCESSING, expected_version=run.corpus_version)
    prefix = f"analysis/corpus-{corpus.id}/run-{run.id}/attempt-{run.attempt}"
    workdir = Path(tempfile.mkdtemp(prefix=f"analysis-{run.id}-"))
    try:
        delete_prefix(prefix)  # whatever an earlier try under this name left
        _execute(run, corpus, prefix, workdir)
    except Lost:
        logger.info("Analysis %s attempt %s was taken over; stopping", run.id, run.attempt)
        delete_prefix(prefix)
    except FileRejected as exc:
        _fail(run, str(exc))
        delete_prefix(prefix)
    except Exception as exc:
        logger.exception("Analysis %s failed", run.id)
        _fail(run, _("internal error (%(kind)s); the maintainers have the details") % {"kind": type(exc).__name__})
        delete_prefix(prefix)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return True


def _execute(run: AnalysisRun, corpus: Corpus, prefix: str, workdir: Path) -> None:
    files = list(CorpusFile.objects.filter(corpus=corpus).order_by("id"))
    if not files:
        raise FileRejected("corpus", _("no file to analyse"))
    total = sum(f.size for f in files)
    AnalysisRun.objects.filter(id=run.id, attempt=run.attempt).update(bytes_total=total)
    DocumentFingerprint.objects.filter(corpus=corpus).exclude(run_id=run.id).delete()
    DocumentFingerprint.objects.filter(run_id=run.id).delete()
    analyzer = DocumentAnalyzer(
        workdir=workdir, seed=f"{corpus.id}-{run.corpus_version}", accepted_lookup=_accepted_lookup(corpus.id)
    )
    shards = ShardWriter(workdir, prefix)
    done_before = 0
    last_beat = timezone.now()
    for stored in files:
        options = FormatOptions(split=stored.split, separator=stored.separator, text_column=stored.text_column)
        with default_storage.open(stored.file.name, "rb") as handle:
            stream, counter = buffered(handle)
            items = read_documents(
                stream, name=stored.original_name, fmt=stored.format, options=options, size=stored.size
            )
            batch: list[dict] = []
            batch_chars = 0
            for row in analyzer.rows(_docs_only(items, analyzer)):
                batch.append(row)
                batch_chars += row["chars"]
                if len(batch) >= BATCH_ROWS or batch_chars >= BATCH_MAX_CHARS:
                    _flush(run, corpus, analyzer, shards, batch)
                    batch, batch_chars = [], 0
                    if (timezone.now() - last_beat).total_seconds() >= 1:
                        _progress(run, bytes_done=done_before + counter.count, documents=analyzer.documents)
                        last_beat = timezone.now()
            _flush(run, corpus, analyzer, shards, batch)
        done_before += stored.size
        _progress(run, bytes_done=done_before, documents=analyzer.documents)
    if not analyzer.documents:
        raise FileRejected("corpus", _("no usable document in the files"))
    shards.close_shard()
    near = analyzer.near.duplicates()
    names = list(shards.names)
    names.append(
        shards.save_table(
            "near_duplicates.parquet",
            pa.table(
                {"doc_index": list(near), "duplicate_of": list(near.values())},
                schema=pa.schema([("doc_index", pa.int64()), ("duplicate_of", pa.int64())]),
            ),
        )
    )
    report = analyzer.report(near, done_before)
    with transaction.atomic():
        finished = AnalysisRun.objects.filter(id=run.id, attempt=run.attempt, status=JobStatus.RUNNING).update(
            status=JobStatus.DONE,
            finished_at=timezone.now(),
            report=report,
            shards=names,
            bytes_done=done_before,
            documents_done=analyzer.documents,
            error="",
        )
        if not finished:
            raise Lost
        corpus_try_transition(
            corpus_id=corpus.id, to=CorpusStatus.AWAITING_REVIEW, expected_version=run.corpus_version, reason=""
        )
    # Files of earlier attempts of this run, left by workers that died.
    for attempt in range(1, run.attempt):
        delete_prefix(f"analysis/corpus-{corpus.id}/run-{run.id}/attempt-{attempt}")


def _docs_only(items: Iterable[RawDoc | Problem], analyzer: DocumentAnalyzer) -> Iterator[RawDoc]:
    for item in items:
        if isinstance(item, Problem):
            analyzer.problem(item)
        else:
            yield item


def _flush(run, corpus, analyzer: DocumentAnalyzer, shards: ShardWriter, batch: list[dict]) -> None:
    if not batch:
        return
    analyzer.finish_batch(batch)
    shards.write(batch)
    DocumentFingerprint.objects.bulk_create(
        [DocumentFingerprint(corpus=corpus, run=run, hash=row["hash"], doc_index=row["doc_index"]) for row in batch],
        batch_size=BATCH_ROWS,
    )


def delete_prefix(prefix: str) -> None:
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    for directory in directories:
        delete_prefix(f"{prefix}/{directory}")
