"""Reading analysed documents back for reviewers: paginated, searchable,
filterable by flag, straight from the Parquet shards (streamed batch by
batch; nothing is copied to the database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.files.storage import default_storage

from ..models import AnalysisRun
from .text import PII_KINDS, find_personal_data

COLUMNS = [
    "doc_index",
    "source",
    "line",
    "text",
    "language",
    "flags",
    "duplicate_of",
    "duplicate_accepted",
    "pii_email",
    "pii_phone",
    "pii_iban",
    "pii_nir",
    "pii_card",
    "pii_ip",
    "words",
    "symbol_ratio",
    "repeated_line_ratio",
    "top_ngram_ratio",
    "stop_words",
    "language_share",  # since analysis-3
]
DISPLAY_CHARS = 5000
# The whole document, for a reviewer following a finding, in pages of this size.
DOCUMENT_PAGE_CHARS = 20_000
# Findings listed under each document of the review page; the document's own
# page lists them all.
FINDINGS_LISTED = 20
# The value each quality flag was raised on, where one is kept.
FLAG_MEASURES = {
    "too_short": "words", "too_long": "words", "symbol_ratio": "symbol_ratio",
    "repeated_lines": "repeated_line_ratio", "repeated_ngrams": "top_ngram_ratio", "no_stop_words": "stop_words",
    "mixed_language": "language_share",
}


class Finding(TypedDict):
    number: int
    kind: str
    start: int
    end: int
    line: int
    preview: str
    page: int


def _masked(value: str) -> str:
    """Enough of a piece of personal data to recognise it, not to copy it."""
    value = "".join(value.split())
    if "@" in value:
        local, _, domain = value.partition("@")
        name, dot, top = domain.rpartition(".")
        return f"{local[:1]}•••@{name[:1]}•••{dot}{top}"
    kept = [i for i, char in enumerate(value) if char.isalnum()]
    hidden = set(kept[2:-2])
    return "".join("•" if i in hidden else char for i, char in enumerate(value))


def document_findings(text: str) -> list[Finding]:
    """Every piece of personal data in the whole text: its kind, where it
    starts (character and line), a masked preview and the page of the
    document that shows it."""
    return [
        {
            "number": number, "kind": item.kind, "start": item.start, "end": item.end,
            "line": text.count("\n", 0, item.start) + 1, "preview": _masked(item.value),
            "page": item.start // DOCUMENT_PAGE_CHARS + 1,
        }
        for number, item in enumerate(find_personal_data(text), 1)
    ]


def _columns(parquet: pq.ParquetFile) -> list[str]:
    # Shards of earlier analysis versions lack the newer columns.
    names = set(parquet.schema_arrow.names)
    return [column for column in COLUMNS if column in names]


def _measures(row: dict) -> list[tuple[str, object]]:
    """Each flag of the row with the value it was raised on (or None)."""
    return [(flag, row.get(FLAG_MEASURES.get(flag, ""))) for flag in row["flags"] or []]


def documents_page(
    *,
    run: AnalysisRun,
    page: int = 1,
    per_page: int = 20,
    query: str = "",
    flag: str = "",
    personal_data: bool = False,
    personal_data_kind: str = "",
) -> dict:
    """A page of the run's documents, those with ``flag``, with personal
    data (of ``personal_data_kind`` only, when given) or holding ``query``."""
    offset = (max(page, 1) - 1) * per_page
    kinds = [personal_data_kind] if personal_data_kind else PII_KINDS
    personal_data = personal_data or bool(personal_data_kind)
    if not (query or flag or personal_data):
        return _unfiltered_page(run=run, page=page, per_page=per_page, offset=offset)
    rows: list[dict] = []
    total = 0
    for name in run.shards:
        with default_storage.open(name, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            for batch in parquet.iter_batches(batch_size=2000, columns=_columns(parquet)):
                batch = _filtered(batch, query=query, flag=flag, personal_data=personal_data, kinds=kinds)
                count = batch.num_rows
                start = max(0, offset - total)
                if start < count and len(rows) < per_page:
                    rows.extend(_shown(batch.slice(start, per_page - len(rows)).to_pylist()))
                total += count
    pages = max(1, (total + per_page - 1) // per_page)
    return {"documents": rows, "total": total, "page": min(max(page, 1), pages), "pages": pages}


def _filtered(batch: pa.RecordBatch, *, query: str, flag: str, personal_data: bool, kinds: list[str]) -> pa.RecordBatch:
    if query:
        batch = batch.filter(pc.match_substring(batch.column("text"), query, ignore_case=True))
    if flag or personal_data:
        flags = batch.column("flags").to_pylist()
        pii = [batch.column(f"pii_{kind}").to_pylist() for kind in kinds]
        keep = [
            i for i, row_flags in enumerate(flags)
            if (not flag or flag in (row_flags or [])) and (not personal_data or any(c[i] for c in pii))
        ]
        # Typed: an empty list would be an array of nulls, which take() refuses.
        batch = batch.take(pa.array(keep, type=pa.int64()))
    return batch


def document_indexes(
    *, run: AnalysisRun, query: str = "", flag: str = "", personal_data: bool = False
) -> Iterator[int]:
    """The numbers of the run's documents that ``documents_page`` would list
    with the same filter, streamed (what a bulk exclusion keeps out)."""
    for name in run.shards:
        with default_storage.open(name, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            columns = ["doc_index", "flags", *(c for c in names if c.startswith("pii_"))]
            if query:
                columns.append("text")
            for batch in parquet.iter_batches(batch_size=2000, columns=[c for c in columns if c in names]):
                batch = _filtered(batch, query=query, flag=flag, personal_data=personal_data, kinds=PII_KINDS)
                yield from batch.column("doc_index").to_pylist()


def _unfiltered_page(*, run: AnalysisRun, page: int, per_page: int, offset: int) -> dict:
    """Without a filter the total is in the shards' footers, and only the
    row groups that hold the page are read: the cost of a page does not
    grow with the corpus."""
    rows: list[dict] = []
    total = 0
    for name in run.shards:
        with default_storage.open(name, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            metadata = parquet.metadata
            for group in range(metadata.num_row_groups):
                count = metadata.row_group(group).num_rows
                start = max(0, offset - total)
                if start < count and len(rows) < per_page:
                    table = parquet.read_row_group(group, columns=_columns(parquet))
                    rows.extend(_shown(table.slice(start, per_page - len(rows)).to_pylist()))
                total += count
    pages = max(1, (total + per_page - 1) // per_page)
    return {"documents": rows, "total": total, "page": min(max(page, 1), pages), "pages": pages}


def _shown(taken: list[dict]) -> list[dict]:
    for row in taken:
        findings = document_findings(row["text"])
        row["findings"], row["findings_more"] = findings[:FINDINGS_LISTED], max(0, len(findings) - FINDINGS_LISTED)
        row["marks"] = [finding for finding in findings if finding["start"] < DISPLAY_CHARS]
        row["measures"] = _measures(row)
        row["chars"] = len(row["text"])
        row["truncated"] = row["chars"] > DISPLAY_CHARS
        row["text"] = row["text"][:DISPLAY_CHARS]
    return taken


class DocumentPage(TypedDict):
    row: dict
    findings: list[Finding]
    page: int
    pages: int
    start: int
    text: str


def document_page(*, run: AnalysisRun, doc_index: int, page: int = 1) -> DocumentPage | None:
    """One document of an analysis, whole, a page of its text at a time
    (None if the run has no such document)."""
    for name in run.shards:
        with default_storage.open(name, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            # Row groups are pruned on their doc_index statistics.
            table = pq.read_table(handle, columns=_columns(parquet), filters=[("doc_index", "=", doc_index)])
        if table.num_rows:
            row = table.slice(0, 1).to_pylist()[0]
            text = row.pop("text")
            pages = max(1, -(-len(text) // DOCUMENT_PAGE_CHARS))
            page = min(max(page, 1), pages)
            start = (page - 1) * DOCUMENT_PAGE_CHARS
            row["measures"], row["chars"] = _measures(row), len(text)
            return {
                "row": row, "findings": document_findings(text), "page": page, "pages": pages, "start": start,
                "text": text[start : start + DOCUMENT_PAGE_CHARS],
            }
    return None
