"""Response times of the data explorer on a release of a given size.

    .venv/bin/python bench/explorer.py --size-mb 1024
    .venv/bin/python bench/explorer.py --tiny     # seconds: does it still run?

Writes, on a throw-away site, a release config of generated French text
straight with pyarrow (the release's schema, shards of at most 500 MB of text,
row groups of 1,000 rows, as a build writes them: much faster than building
one through the site), builds the search index of each shard (what a worker
does once per file), then times the explorer's selectors as a page view calls
them, each query the first time (its summary not cached; the dataset's
facets, shared by every query, are): a plain page, a search for a common
word, a search for a rare one, and a search with filters. Prints one JSON line with
p50/p95 wall time in milliseconds for each and its median CPU time (all
threads: what it costs on a machine shared with other work), the index build's speed (``mb_per_s``, MB of
text a second) and peak_rss_mb. Target: a search under 300 ms on 1 GB.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, leave, peak_rss_mb, throwaway_site  # noqa: E402

FIGURES = (
    "text_mb", "rows", "files", "index_seconds", "mb_per_s", "page_p50_ms", "page_p95_ms", "search_p50_ms",
    "search_p95_ms", "search_cpu_ms", "rare_search_p50_ms", "rare_search_p95_ms", "filtered_search_p50_ms",
    "filtered_search_p95_ms",
)
PREFIX = "releases/bench/attempt-1"
LICENSES = ["etalab-2.0", "CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0"]
FLAGS = [[], [], [], ["short_lines"], ["repeated_lines"], ["short_lines", "low_punctuation"]]


def write_release(size_bytes: int, shard_bytes: int) -> tuple[list[str], int, int]:
    """Shards of generated text; returns their stored names, rows and text bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage

    from bench.corpusgen import documents
    from contributions.releases import ROW_GROUP_ROWS, SCHEMA

    # A pool of varied documents, each row one of them with a number of its
    # own: generating every row would take minutes a GB.
    pool = list(documents(min(size_bytes, 40_000_000), seed=1))
    rng = random.Random(0)
    names: list[str] = []
    written = rows = shard_written = 0
    writer = None
    while written < size_bytes:
        if writer is None:
            name = f"{PREFIX}/data/open/train-{len(names):05d}.parquet"
            path = Path(default_storage.path(name))
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, SCHEMA, compression="zstd", compression_level=3, write_statistics=True)
            names.append(name)
            shard_written = 0
        # Ten row groups a batch; a tiny run's rows fit in fewer.
        n = min(ROW_GROUP_ROWS * 10, max(ROW_GROUP_ROWS, size_bytes // 3000))
        texts = [f"{pool[rng.randrange(len(pool))]} (n° {rows + k})" for k in range(n)]
        corpora = sorted(rng.randrange(1, 200) for _ in range(n))
        table = pa.table(
            {
                "id": [f"c{c}-v1-d{rows + k}" for k, c in enumerate(corpora)],
                "text": texts,
                "corpus_id": corpora,
                "corpus_title": [f"Corpus {c}" for c in corpora],
                "license": [LICENSES[c % 4] for c in corpora],
                "source": ["https://example.org/bench"] * n,
                "language": ["en" if rng.random() < 0.1 else "fr" for _ in range(n)],
                "domain": ["web"] * n,
                "submitter": ["contributor-bench"] * n,
                "reviewers": [["reviewer-bench"]] * n,
                "processing_version": ["analysis-2"] * n,
                "chars": [len(t) for t in texts],
                "words": [len(t.split()) for t in texts],
                "quality_flags": [rng.choice(FLAGS) for _ in range(n)],
                "personal_data_replaced": [0] * n,
            },
            schema=SCHEMA,
        )
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        size = sum(len(t.encode()) for t in texts)
        written += size
        shard_written += size
        rows += n
        if shard_written >= shard_bytes:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()
    return names, rows, written


def _cpu() -> float:
    # Every thread of the process (DuckDB's too): unlike the wall clock, it
    # does not grow when other processes share the cores.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(function, repeat: int, warm=None) -> tuple[float, float, float]:
    """p50 and p95 of the wall time, and the median CPU time, in ms."""
    from django.core.cache import cache

    times, cpu = [], []
    for _ in range(repeat):
        cache.clear()  # what the first visitor of a query waits for
        if warm is not None:
            warm()
        start, start_cpu = time.perf_counter(), _cpu()
        function()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((_cpu() - start_cpu) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return round(statistics.median(times), 1), round(p95, 1), round(statistics.median(cpu), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=1024, help="MB of text in the release (default 1024)")
    parser.add_argument("--repeat", type=int, default=20, help="timings per query (default 20)")
    parser.add_argument("--tiny", action="store_true", help="a couple of MB: does it still run?")
    args = parser.parse_args()
    size_mb = 2.0 if args.tiny else args.size_mb
    repeat = 3 if args.tiny else args.repeat
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        throwaway_site(Path(tmp))
        from contributions import explorer

        shard_bytes = 1_000_000 if args.tiny else 500 * 1024**2
        names, rows, text_bytes = write_release(int(size_mb * 1e6), shard_bytes)
        index_start = time.perf_counter()
        for name in names:
            explorer.search_index_build(name=name)
        index_seconds = time.perf_counter() - index_start
        dataset = explorer.Dataset(files=tuple(names), kind="release")

        def view(**params: str) -> None:
            query, _errors = explorer.query_parse(params=params, restricted_text=True)
            with explorer.session() as s:
                summary = explorer.explorer_summary(s=s, dataset=dataset, query=query)
                explorer.explorer_page(s=s, dataset=dataset, query=query, summary=summary)

        view()  # a process's first query sets things up once
        # Every search term of its kind in turn, so that none is measured warm.
        common = ["patrimoine", "budget", "bibliothèque", "Conseil Municipal"]
        rare = [f"(n° {rows // 3 + k})" for k in range(repeat)]
        counter = iter(range(10**6))
        figures = {}
        def facets() -> None:
            # What the filters offer: computed once for the dataset, then
            # kept CACHE_SECONDS; a new query finds it there.
            with explorer.session() as s:
                explorer.explorer_facets(s=s, dataset=dataset)

        for label, call in [
            ("page", lambda: view()),
            ("search", lambda: view(q=common[next(counter) % len(common)])),
            ("rare_search", lambda: view(q=rare[next(counter) % len(rare)])),
            ("filtered_search", lambda: view(q=common[next(counter) % len(common)], language="fr",
                                             min_chars="2000", license="CC-BY-4.0")),
        ]:
            p50, p95, cpu = timed(call, repeat, warm=None if label == "page" else facets)
            figures[f"{label}_p50_ms"], figures[f"{label}_p95_ms"], figures[f"{label}_cpu_ms"] = p50, p95, cpu
    text_mb = text_bytes / 1e6
    emit(
        {
            "text_mb": round(text_mb, 1),
            "rows": rows,
            "files": len(names),
            "index_seconds": round(index_seconds, 2),
            "mb_per_s": round(text_mb / index_seconds, 1),
            **figures,
            "seconds": round(time.perf_counter() - start, 2),
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    leave()


if __name__ == "__main__":
    main()
