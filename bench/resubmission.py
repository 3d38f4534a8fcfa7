"""Time and memory of the reviewers' page of changes between two analysed
versions of a corpus (``contributions.resubmission``).

    .venv/bin/python bench/resubmission.py --documents 37000
    .venv/bin/python bench/resubmission.py --tiny     # seconds: does it still run?

Writes, on a throw-away site, the analysis shards of two versions of a corpus
of generated French documents straight with pyarrow (the analysis's schema,
row groups of 1,000 rows, real MinHash signatures; the other columns
simplified), streamed: no version is ever held whole. From version 1 to
version 2, 1 % of the documents have one word replaced, 0.5 % are removed,
0.5 % are added right after one that stays, and one file of the ten is
renamed. Then times ``corpus_version_diff`` as the page calls it: the first
view (comparison, summary and a page, nothing kept), another page (the
comparison kept in storage, the summary in the cache) and a cached page.
Prints one JSON line: the medians in milliseconds, the documents found
changed, removed and added next to those made so, mb_per_s (MB of text of
both versions over the first view's time) and peak_rss_mb (the process, data
generation included, which streams).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, leave, peak_rss_mb, throwaway_site  # noqa: E402

FIGURES = (
    "documents", "changed", "removed", "added", "expected_changed", "expected_removed", "expected_added",
    "first_view_ms", "other_page_ms", "cached_view_ms", "mb_per_s",
)
FILES = 10
RENAMED = 3
BATCH = 1_000


class Shards:
    """One version's shard, written a batch at a time."""

    def __init__(self, corpus_id: int, version: int) -> None:
        import pyarrow.parquet as pq
        from django.core.files.storage import default_storage

        from contributions.analysis.pipeline import SCHEMA

        self.name = f"analysis/{corpus_id}/v{version}/shard-00000.parquet"
        path = Path(default_storage.path(self.name))
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(path, SCHEMA, compression="zstd")
        self.schema = SCHEMA
        self.rows: list[tuple[str, int, str]] = []
        self.documents = self.text_bytes = 0

    def add(self, source: str, line: int, text: str) -> None:
        self.rows.append((source, line, text))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        from contributions.analysis.dedup import signatures
        from contributions.analysis.text import PII_KINDS, content_hash

        if not self.rows:
            return
        sources, lines, texts = zip(*self.rows, strict=True)
        n = len(texts)
        columns: dict[str, list] = {name: [None] * n for name in self.schema.names}
        columns.update(
            doc_index=list(range(self.documents, self.documents + n)), source=list(sources), line=list(lines),
            text=list(texts), chars=[len(t) for t in texts], words=[len(t.split()) for t in texts],
            language=["fr"] * n, hash=[content_hash(t) for t in texts], duplicate_accepted=[False] * n,
            flags=[["short_lines"] if len(t) < 500 else [] for t in texts], pii_keys=[[] for _ in texts],
            minhash=[list(row) for row in signatures(list(texts))],
            **{f"pii_{kind}": [t.count("@") if kind == "email" else 0 for t in texts] for kind in PII_KINDS},
        )
        self.writer.write_table(pa.Table.from_pydict(columns, schema=self.schema), row_group_size=BATCH)
        self.documents += n
        self.text_bytes += sum(len(t.encode()) for t in texts)
        self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


def write_versions(corpus_id: int, documents: int) -> tuple[Shards, Shards, dict[str, int]]:
    """Version 1 and version 2 of the corpus, written side by side."""
    from bench.corpusgen import documents as generated
    from bench.corpusgen import sentence

    rng = random.Random(7)
    old, new = Shards(corpus_id, 1), Shards(corpus_id, 2)
    made = {"changed": 0, "removed": 0, "added": 0}
    texts = generated(10**15, seed=3)
    per_file = max(1, documents // FILES)
    for number in range(FILES):
        source = f"part-{number:02d}.jsonl"
        renamed = f"part-{number:02d}-renamed.jsonl" if number == RENAMED else source
        new_line = 0
        for line in range(1, per_file + 1):
            text = next(texts)
            old.add(source, line, text)
            roll = rng.random()
            if roll < 0.005:
                made["removed"] += 1
                continue
            new_line += 1
            if roll < 0.015:
                words = text.split(" ")
                words[rng.randrange(len(words))] = "remplacé"
                changed = " ".join(words)
                made["changed"] += changed != text
                new.add(renamed, new_line, changed)
            else:
                new.add(renamed, new_line, text)
            if roll > 0.995:
                new_line += 1
                new.add(renamed, new_line, " ".join(sentence(rng) for _ in range(6)))
                made["added"] += 1
    old.close()
    new.close()
    return old, new, made


def timed(function, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=37_000, help="documents in version 1 (default 37,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timings of each view (default 5)")
    parser.add_argument("--tiny", action="store_true", help="a few hundred documents: does it still run?")
    args = parser.parse_args()
    documents = 600 if args.tiny else args.documents
    repeat = 1 if args.tiny else args.repeat

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-resubmission-") as tmp:
        throwaway_site(Path(tmp), migrate=True)
        from django.core.cache import cache

        from contributions import resubmission
        from contributions.analysis.pipeline import ANALYSIS
        from contributions.jobs import delete_prefix
        from contributions.models import AnalysisRun, Corpus, CorpusStatus, JobStatus, User

        user = User.objects.create(email="bench@example.org", display_name="Bench")
        corpus = Corpus.objects.create(
            submitter=user, submitter_pseudonym="bench", title="Bench", description="Generated.", languages=["fr"],
            license="etalab-2.0", domain="administrative", status=CorpusStatus.AWAITING_REVIEW, version=2,
        )
        old, new, made = write_versions(corpus.pk, documents)
        runs = [
            AnalysisRun.objects.create(corpus=corpus, corpus_version=version, status=JobStatus.DONE,
                                       shards=[shards.name])
            for version, shards in ((1, old), (2, new))
        ]

        def view(**kwargs) -> resubmission.VersionDiff:
            return resubmission.corpus_version_diff(corpus=corpus, from_version=1, to_version=2, **kwargs)

        def nothing_kept() -> None:
            # What the first reviewer waits for: the comparison is kept in
            # storage beside the newer analysis, the rest in the cache.
            cache.clear()
            delete_prefix(f"{ANALYSIS.storage_folder(runs[1])}/changes")

        first = timed(view, repeat, before=nothing_kept)
        # The comparison stored and the summary cached, a page of changed documents not yet.
        def summary_only() -> None:
            cache.clear()
            view()

        other = timed(lambda: view(kind="changed", page=2), repeat, before=summary_only)
        cached = timed(view, repeat)
        diff = view()
        assert diff.counts[resubmission.CHANGED] >= 0.9 * made["changed"], (diff.counts, made)

    emit({
        "documents": old.documents,
        **{kind: diff.counts[kind] for kind in resubmission.KINDS},
        **{f"expected_{kind}": count for kind, count in made.items()},
        "moved": diff.moved,
        "first_view_ms": first, "other_page_ms": other, "cached_view_ms": cached,
        "mb_per_s": round((old.text_bytes + new.text_bytes) / 1e6 / (first / 1000), 1),
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": peak_rss_mb(),
    })
    leave()


if __name__ == "__main__":
    main()
