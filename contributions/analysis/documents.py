"""Reading analysed documents back for reviewers: paginated, searchable,
filterable by flag, straight from the Parquet shards (streamed batch by
batch; nothing is copied to the database)."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.files.storage import default_storage

from ..models import AnalysisRun
from .text import PII_KINDS

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
]
DISPLAY_CHARS = 5000


def documents_page(
    *,
    run: AnalysisRun,
    page: int = 1,
    per_page: int = 20,
    query: str = "",
    flag: str = "",
    personal_data: bool = False,
) -> dict:
    offset = (max(page, 1) - 1) * per_page
    if not (query or flag or personal_data):
        return _unfiltered_page(run=run, page=page, per_page=per_page, offset=offset)
    rows: list[dict] = []
    total = 0
    for name in run.shards:
        with default_storage.open(name, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=2000, columns=COLUMNS):
                if query:
                    batch = batch.filter(pc.match_substring(batch.column("text"), query, ignore_case=True))
                if flag or personal_data:
                    flags = batch.column("flags").to_pylist()
                    pii = [batch.column(f"pii_{kind}").to_pylist() for kind in PII_KINDS]
                    keep = [
                        i for i, row_flags in enumerate(flags)
                        if (not flag or flag in (row_flags or [])) and (not personal_data or any(c[i] for c in pii))
                    ]
                    batch = batch.take(keep)
                count = batch.num_rows
                start = max(0, offset - total)
                if start < count and len(rows) < per_page:
                    taken = batch.slice(start, per_page - len(rows)).to_pylist()
                    for row in taken:
                        row["truncated"] = len(row["text"]) > DISPLAY_CHARS
                        row["text"] = row["text"][:DISPLAY_CHARS]
                    rows.extend(taken)
                total += count
    pages = max(1, (total + per_page - 1) // per_page)
    return {"documents": rows, "total": total, "page": min(max(page, 1), pages), "pages": pages}


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
                    table = parquet.read_row_group(group, columns=COLUMNS)
                    rows.extend(_shown(table.slice(start, per_page - len(rows)).to_pylist()))
                total += count
    pages = max(1, (total + per_page - 1) // per_page)
    return {"documents": rows, "total": total, "page": min(max(page, 1), pages), "pages": pages}


def _shown(taken: list[dict]) -> list[dict]:
    for row in taken:
        row["truncated"] = len(row["text"]) > DISPLAY_CHARS
        row["text"] = row["text"][:DISPLAY_CHARS]
    return taken
