"""Throughput and memory of the corpus analysis, on one process.

    .venv/bin/python bench/ingest.py --size-mb 100
    .venv/bin/python bench/ingest.py --input corpus.jsonl
    .venv/bin/python bench/ingest.py --tiny     # seconds: does it still run?

Generates (or takes) a JSONL corpus, streams it through the real analysis
code (reader, normalisation, language, personal data, quality, duplicates,
Parquet shards through Django's storage, in a throw-away site under a
temporary folder) and prints one JSON line with docs_per_s, mb_per_s and
peak_rss_mb. When datatrove is installed, its Gopher quality and
repetition, C4 quality and PII filters run on the same input and the line
gains datatrove_mb_per_s and ratio_vs_datatrove.
Targets: peak_rss_mb under 500 whatever the size; mb_per_s at least 4.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, leave, peak_rss_mb, throwaway_site  # noqa: E402

FIGURES = ("input_mb", "documents", "seconds", "docs_per_s", "mb_per_s", "peak_rss_mb")


def run_analysis(path: Path, workdir: Path) -> dict:
    throwaway_site(workdir)
    from django.core.files import File
    from django.core.files.storage import default_storage

    from contributions.analysis.formats import FormatOptions, Problem, buffered, read_documents
    from contributions.analysis.pipeline import BATCH_MAX_CHARS, BATCH_ROWS, DocumentAnalyzer, ShardWriter

    def save(name: str, local: Path) -> str:
        # Through Django's storage, as a job's shards are.
        with local.open("rb") as handle:
            return default_storage.save(f"bench/{name}", File(handle))

    analyzer = DocumentAnalyzer(workdir=workdir, seed="bench")
    shards = ShardWriter(workdir, save)
    start = time.perf_counter()
    with path.open("rb") as handle:
        stream, counter = buffered(handle)
        items = read_documents(stream, name=path.name, fmt="jsonl", options=FormatOptions())
        docs = (item for item in items if not isinstance(item, Problem))
        batch, chars = [], 0
        for row in analyzer.rows(docs):
            batch.append(row)
            chars += row["chars"]
            if len(batch) >= BATCH_ROWS or chars >= BATCH_MAX_CHARS:
                analyzer.finish_batch(batch)
                shards.write(batch)
                batch, chars = [], 0
        if batch:
            analyzer.finish_batch(batch)
            shards.write(batch)
    shards.close_shard()
    near = analyzer.near.duplicates()
    report = analyzer.report(near, counter.count)
    elapsed = time.perf_counter() - start
    size_mb = path.stat().st_size / 1e6
    return {
        "input_mb": round(size_mb, 2),
        "documents": report["documents"],
        "seconds": round(elapsed, 2),
        "docs_per_s": round(report["documents"] / elapsed, 1),
        "mb_per_s": round(size_mb / elapsed, 2),
        "peak_rss_mb": peak_rss_mb(),
        "near_duplicates": report["duplicates"]["near_within"],
        "exact_duplicates": report["duplicates"]["exact_within"],
    }


DATATROVE = """
import sys, time
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.utils.typeshelper import Languages
path, logs = sys.argv[1], sys.argv[2]
start = time.perf_counter()
LocalPipelineExecutor(pipeline=[
    JsonlReader(path.rsplit("/", 1)[0], glob_pattern=path.rsplit("/", 1)[1]),
    GopherRepetitionFilter(language=Languages.french),
    GopherQualityFilter(language=Languages.french),
    C4QualityFilter(language=Languages.french, filter_no_terminal_punct=False),
    PIIFormatter(),
], tasks=1, workers=1, logging_dir=logs).run()
print(time.perf_counter() - start)
"""


def run_datatrove(path: Path, workdir: Path) -> dict:
    try:
        import datatrove  # noqa: F401
    except ImportError:
        return {}
    result = subprocess.run(
        [sys.executable, "-c", DATATROVE, str(path), str(workdir / "datatrove-logs")],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        return {"datatrove_error": result.stderr.strip().splitlines()[-1][:300]}
    seconds = float(result.stdout.strip().splitlines()[-1])
    return {"datatrove_mb_per_s": round(path.stat().st_size / 1e6 / seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=50, help="size of the generated corpus")
    parser.add_argument("--input", type=Path, help="a JSONL file with a text field, instead of generating")
    parser.add_argument("--no-datatrove", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="0.2 MB, without datatrove: a check that it runs")
    args = parser.parse_args()
    if args.tiny:
        args.size_mb, args.no_datatrove = 0.2, True
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        path = args.input
        if path is None:
            from bench.corpusgen import write_jsonl

            path = workdir / "corpus.jsonl"
            write_jsonl(str(path), int(args.size_mb * 1e6))
        figures = run_analysis(path, workdir)
        if not args.no_datatrove:
            figures.update(run_datatrove(path, workdir))
            if "datatrove_mb_per_s" in figures:
                figures["ratio_vs_datatrove"] = round(figures["mb_per_s"] / figures["datatrove_mb_per_s"], 1)
    emit(figures)
    leave()


if __name__ == "__main__":
    main()
