"""The training-ready version of an approved corpus: the analysed documents
minus the reviewers' exclusions and the duplicates of accepted data, with
personal data replaced by placeholders."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import lifecycle
from .analysis.pipeline import ShardWriter
from .analysis.text import find_personal_data
from .explorer import search_index_build
from .jobs import Done, JobContext, JobKind, Retry, register
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


def training_build(version: TrainingVersion, context: JobContext) -> Done[TrainingVersion]:
    """The work of a training-ready version job."""
    corpus = version.corpus
    run = AnalysisRun.objects.get(corpus=corpus, corpus_version=version.corpus_version, status=JobStatus.DONE)
    exclusions = list(Exclusion.objects.filter(corpus=corpus, corpus_version=version.corpus_version))
    kinds = {e.kind for e in exclusions}
    documents = {int(e.value) for e in exclusions if e.kind == Exclusion.Kind.DOCUMENT}
    flags = {e.value for e in exclusions if e.kind == Exclusion.Kind.FLAG}
    near: set[int] = set()
    if Exclusion.Kind.NEAR_DUPLICATES in kinds and run.near_duplicates:
        with default_storage.open(run.near_duplicates, "rb") as handle:
            near = set(pq.read_table(handle).column("doc_index").to_pylist())
    excluded: Counter[str] = Counter()

    def save(name: str, path: Path) -> str:
        # The explorer's search index is built while the shard is still local.
        stored = context.save_path(name, path)
        search_index_build(name=stored, local_path=path)
        return stored

    writer = ShardWriter(context.workdir, save, schema=TRAINING_SCHEMA)
    totals: Counter[str] = Counter()
    context.beat(force=True, progress_total=run.documents_done)
    read = 0
    for shard in run.shards:
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
                read += len(rows)
                context.beat(progress_done=read)
    writer.close_shard()
    return Done(
        fields={
            "shards": writer.names, "excluded": dict(excluded), "documents": totals["documents"],
            "words": totals["words"], "characters": totals["characters"],
        },
        then=lambda version: corpus_try_transition(
            corpus_id=version.corpus_id, to=CorpusStatus.QUEUED_FOR_TRAINING, expected_version=version.corpus_version
        ),
    )


def training_retry(version: TrainingVersion) -> None:
    corpus = version.corpus
    if corpus.version != version.corpus_version or corpus.status != CorpusStatus.APPROVED:
        raise ValidationError(_("The corpus is no longer approved in this version."))


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


def _accepted_hashes(corpus_id: int, hashes: set[int]) -> set[int]:
    """Duplicates of accepted data are always removed, including data
    accepted after this corpus was analysed. Only corpora whose
    training-ready version came first count: counting corpora merely
    approved would let two corpora approved together drop each other's copy."""
    return set(
        DocumentFingerprint.objects.filter(hash__in=hashes, corpus__status__in=lifecycle.RELEASABLE)
        .exclude(corpus_id=corpus_id)
        .values_list("hash", flat=True)
    )


TRAINING = register(
    JobKind(
        name="training",
        label=gettext_lazy("Training-ready versions"),
        model=TrainingVersion,
        task="contributions.tasks.build_training_version",
        run=training_build,
        folder="training",
        # A passing fault (storage, database) gets another try; the third
        # failure stays, with its error, for maintainers to look at.
        max_attempts=3,
        retry=Retry.BACKOFF,
        on_retry=training_retry,
        describe=lambda version: f"{version.corpus} v{version.corpus_version}",
        related=("corpus",),
    )
)
