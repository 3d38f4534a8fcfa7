"""The training-ready version of an approved corpus: the analysed documents
minus the reviewers' exclusions and the duplicates of accepted data, with
personal data replaced by placeholders."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .analysis.pipeline import ShardWriter, delete_prefix
from .analysis.text import find_personal_data
from .jobs import job_claim
from .lifecycle import corpus_try_transition
from .models import (
    AnalysisRun,
    CorpusStatus,
    DocumentFingerprint,
    Exclusion,
    JobStatus,
    TrainingVersion,
)

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3

TRAINING_SCHEMA = pa.schema(
    [
        ("doc_index", pa.int64()),
        ("text", pa.large_string()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("language", pa.string()),
        ("chars", pa.int64()),
        ("words", pa.int64()),
        ("flags", pa.list_(pa.string())),
        ("personal_data_replaced", pa.int32()),
        ("hash", pa.int64()),
        ("meta", pa.string()),
        ("minhash", pa.list_(pa.uint32())),
    ]
)
READ_COLUMNS = ["doc_index", "text", "source", "line", "language", "chars", "words", "flags", "hash",
                "duplicate_of", "meta", "pii_keys", "minhash"]


def placeholder(kind: str) -> str:
    return f"<{kind.upper()}>"


def replace_personal_data(text: str) -> tuple[str, int]:
    """Each piece of personal data of the kinds in PII_PLACEHOLDER_KINDS
    becomes its placeholder (<EMAIL>, <PHONE>...)."""
    kinds = settings.PII_PLACEHOLDER_KINDS
    found = [item for item in find_personal_data(text) if item.kind in kinds]
    for item in reversed(found):
        text = text[: item.start] + placeholder(item.kind) + text[item.end :]
    return text, len(found)


def training_build(*, version_id: int) -> None:
    version = job_claim(model=TrainingVersion, job_id=version_id)
    if not version:
        return
    corpus = version.corpus
    prefix = f"training/corpus-{corpus.id}/v{version.corpus_version}/attempt-{version.attempt}"
    workdir = Path(tempfile.mkdtemp(prefix=f"training-{version.id}-"))
    try:
        delete_prefix(prefix)
        _build(version, prefix, workdir)
    except Exception as exc:
        logger.exception("Training version %s failed", version.id)
        # A passing fault (storage, database) gets another try through the
        # sweeper; the third failure stays, with its error, for maintainers.
        final = version.attempt >= MAX_ATTEMPTS
        TrainingVersion.objects.filter(id=version.id, attempt=version.attempt).update(
            status=JobStatus.FAILED if final else JobStatus.QUEUED,
            error=f"{type(exc).__name__}: {exc}"[:5000],
            finished_at=timezone.now() if final else None,
        )
        delete_prefix(prefix)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _build(version: TrainingVersion, prefix: str, workdir: Path) -> None:
    corpus = version.corpus
    run = AnalysisRun.objects.get(corpus=corpus, corpus_version=version.corpus_version, status=JobStatus.DONE)
    exclusions = list(Exclusion.objects.filter(corpus=corpus, corpus_version=version.corpus_version))
    kinds = {e.kind for e in exclusions}
    documents = {int(e.value) for e in exclusions if e.kind == Exclusion.Kind.DOCUMENT}
    flags = {e.value for e in exclusions if e.kind == Exclusion.Kind.FLAG}
    near: set[int] = set()
    if Exclusion.Kind.NEAR_DUPLICATES in kinds:
        [sidecar] = [name for name in run.shards if "near_duplicates" in name]
        with default_storage.open(sidecar, "rb") as handle:
            near = set(pq.read_table(handle).column("doc_index").to_pylist())
    excluded: Counter[str] = Counter()
    writer = ShardWriter(workdir, prefix, schema=TRAINING_SCHEMA)
    totals = Counter()
    for shard in run.shards:
        if "near_duplicates" in shard:
            continue
        with default_storage.open(shard, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=1000, columns=READ_COLUMNS):
                rows = batch.to_pylist()
                accepted = _accepted_hashes(corpus.id, {row["hash"] for row in rows})
                kept = []
                for row in rows:
                    reason = _exclusion_reason(row, documents, flags, kinds, near, accepted)
                    if reason:
                        excluded[reason] += 1
                        continue
                    row["text"], row["personal_data_replaced"] = replace_personal_data(row["text"])
                    kept.append(row)
                    totals["documents"] += 1
                    totals["words"] += row["words"]
                    totals["characters"] += len(row["text"])
                writer.write(kept)
        TrainingVersion.objects.filter(id=version.id, attempt=version.attempt).update(heartbeat_at=timezone.now())
    writer.close_shard()
    with transaction.atomic():
        done = TrainingVersion.objects.filter(
            id=version.id, attempt=version.attempt, status=JobStatus.RUNNING
        ).update(
            status=JobStatus.DONE, finished_at=timezone.now(), shards=writer.names, excluded=dict(excluded),
            documents=totals["documents"], words=totals["words"], characters=totals["characters"], error="",
        )
        if done:
            corpus_try_transition(
                corpus_id=corpus.id, to=CorpusStatus.QUEUED_FOR_TRAINING, expected_version=version.corpus_version
            )


def _exclusion_reason(row, documents, flags, kinds, near, accepted) -> str | None:
    if row["doc_index"] in documents:
        return "document"
    if flags.intersection(row["flags"] or []):
        return "flag"
    if Exclusion.Kind.PERSONAL_DATA in kinds and row["pii_keys"]:
        return "personal_data"
    if Exclusion.Kind.EXACT_DUPLICATES in kinds and row["duplicate_of"] is not None:
        return "exact_duplicate"
    if row["doc_index"] in near:
        return "near_duplicate"
    if row["hash"] in accepted:
        return "accepted_duplicate"
    return None


# Corpora whose training-ready version came first: their documents stay, and
# the same documents are dropped here. (Counting corpora merely approved
# would let two corpora approved together drop each other's copy.)
EARLIER = [CorpusStatus.QUEUED_FOR_TRAINING, CorpusStatus.RELEASED]


def _accepted_hashes(corpus_id: int, hashes: set[int]) -> set[int]:
    """Duplicates of accepted data are always removed, including data
    accepted after this corpus was analysed."""
    return set(
        DocumentFingerprint.objects.filter(hash__in=hashes, corpus__status__in=EARLIER)
        .exclude(corpus_id=corpus_id)
        .values_list("hash", flat=True)
    )
