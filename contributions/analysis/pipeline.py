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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import lifecycle
from ..jobs import Done, JobContext, JobFailed, JobKind, Retry, register
from ..lifecycle import corpus_transition, corpus_try_transition
from ..models import AnalysisRun, Corpus, CorpusFile, CorpusLanguage, CorpusStatus, DocumentFingerprint
from ..payloads import AnalysisReport, FailureReport, ReportProblem, SampleDocument
from .dedup import NearDuplicateIndex, signatures
from .formats import FileRejected, FormatOptions, Problem, RawDoc, ReadProgress, read_documents
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
        self, *, workdir: Path, seed: str, accepted_lookup=None, declared_languages: Iterable[str] = ()
    ) -> None:
        self.declared_languages = frozenset(declared_languages)
        self.near = NearDuplicateIndex(workdir / "near-duplicates")
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
        # Reservoir sampling: every document has the same chance, and the
        # seed makes the sample the same at every run of the same version.
        entry: int | None = len(self.sample)
        if len(self.sample) >= SAMPLE_SIZE:
            j = self.rng.randrange(self.documents)
            entry = j if j < SAMPLE_SIZE else None
        if entry is None:
            return
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


def analysis_run(run: AnalysisRun, context: JobContext) -> Done[AnalysisRun]:
    """The work of an analysis job: every file of the corpus version, to
    Parquet shards and a report."""
    corpus = run.corpus
    if corpus.status == CorpusStatus.SUBMITTED:
        corpus_try_transition(corpus_id=corpus.id, to=CorpusStatus.PROCESSING, expected_version=run.corpus_version)
    files = list(CorpusFile.objects.filter(corpus=corpus).order_by("id"))
    if not files:
        raise JobFailed(_("no file to analyse"))
    total = sum(f.size for f in files)
    context.beat(force=True, progress_total=total, documents_done=0)
    # Earlier versions' fingerprints, and whatever an earlier attempt wrote.
    DocumentFingerprint.objects.filter(corpus=corpus).delete()
    analyzer = DocumentAnalyzer(
        workdir=context.workdir, seed=f"{corpus.id}-{run.corpus_version}", accepted_lookup=_accepted_lookup(corpus.id),
        declared_languages=corpus.languages,
    )
    shards = ShardWriter(context.workdir, context.save_path)
    try:
        done_before = 0
        for stored in files:
            seconds = _budget(stored.size)
            too_slow = _("%(name)s: reading took longer than %(seconds)s s; the file is malformed or far larger than "
                         "it looks") % {"name": stored.original_name, "seconds": int(seconds)}
            with context.budget(seconds, too_slow):
                _analyse_file(run, corpus, stored, analyzer, shards, context, done_before)
            done_before += stored.size
            context.beat(force=True, progress_done=done_before, documents_done=analyzer.documents)
        if not analyzer.documents:
            raise FileRejected("corpus", _("no usable document in the files"))
    except FileRejected as exc:
        # The problems met on the way say why nothing was usable.
        raise JobFailed(str(exc), report=analyzer.problems_report()) from None
    except JobFailed as exc:
        raise JobFailed(exc.message, report=analyzer.problems_report()) from None
    with context.budget(_budget(total), _("finding near-duplicates took too long")):
        shards.close_shard()
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
            "report": analyzer.report(near, done_before),
            "shards": shards.names,
            "near_duplicates": sidecar,
            "documents_done": analyzer.documents,
        },
        then=_analysed,
    )


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


def _analyse_file(
    run: AnalysisRun, corpus: Corpus, stored: CorpusFile, analyzer: DocumentAnalyzer, shards: ShardWriter,
    context: JobContext, done_before: int,
) -> None:
    options = FormatOptions(split=stored.split, separator=stored.separator, text_column=stored.text_column)
    # Progress in what is really read of the file, whatever it claims.
    progress = ReadProgress(total=stored.size)
    with stored.file.open("rb") as handle:
        items = read_documents(
            handle, name=stored.original_name, fmt=stored.format, options=options, size=stored.size, progress=progress
        )
        batch: list[dict] = []
        batch_chars = 0
        for row in analyzer.rows(_docs_only(items, analyzer, context)):
            batch.append(row)
            batch_chars += row["chars"]
            if len(batch) >= BATCH_ROWS or batch_chars >= BATCH_MAX_CHARS:
                _flush(run, corpus, analyzer, shards, batch, context)
                batch, batch_chars = [], 0
                context.beat(progress_done=done_before + progress.done, documents_done=analyzer.documents)
        _flush(run, corpus, analyzer, shards, batch, context)


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
    run: AnalysisRun, corpus: Corpus, analyzer: DocumentAnalyzer, shards: ShardWriter, batch: list[dict],
    context: JobContext,
) -> None:
    if not batch:
        return
    analyzer.finish_batch(batch)
    shards.write(batch)
    with context.fenced():
        DocumentFingerprint.objects.bulk_create(
            [DocumentFingerprint(corpus=corpus, run=run, hash=row["hash"], doc_index=row["doc_index"])
             for row in batch],
            batch_size=BATCH_ROWS,
        )


def analysis_failed(run: AnalysisRun, reason: str) -> None:
    corpus_try_transition(
        corpus_id=run.corpus_id, to=CorpusStatus.FAILED, expected_version=run.corpus_version, reason=reason[:5000]
    )


def analysis_retry(run: AnalysisRun) -> None:
    corpus = Corpus.objects.get(pk=run.corpus_id)
    if corpus.version != run.corpus_version or corpus.status != CorpusStatus.FAILED:
        raise ValidationError(_("The corpus has changed since this analysis: it is analysed when submitted again."))
    corpus_transition(corpus_id=corpus.id, to=CorpusStatus.SUBMITTED, expected_version=run.corpus_version, reason="")


def analysis_cleanup(run: AnalysisRun) -> None:
    DocumentFingerprint.objects.filter(run_id=run.id).delete()


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
