"""Throughput and memory of the corpus analysis, on one process.

    .venv/bin/python bench/ingest.py --size-mb 100
    .venv/bin/python bench/ingest.py --input corpus.jsonl
    .venv/bin/python bench/ingest.py --input corpus.jsonl --workers 2 --repeat 3
    .venv/bin/python bench/ingest.py --tiny     # seconds: does it still run?

Generates (or takes) a JSONL corpus, streams it through the real analysis
code (reader, normalisation, language, personal data, quality, duplicates,
Parquet shards through Django's storage, in a throw-away site under a
temporary folder) and prints one JSON line with docs_per_s, mb_per_s and
peak_rss_mb; the input's first lines are analysed once before the clock
starts, as a worker loads once what a first document needs (the language
model, libraries loaded on first use). When datatrove is installed, its
Gopher quality and repetition, C4 quality and PII filters run on the same input and the line
gains datatrove_mb_per_s and ratio_vs_datatrove. With ``--workers N``, the
same corpus is also submitted as a member does and analysed by a real Celery
worker, of N processes then of 1, split in parts (at least four a process):
the line gains workers_mb_per_s, one_worker_mb_per_s, speedup_vs_1 and
busy_share (the share of the N processes' time spent in parts, between the
first part's start and the last one's end), and peak_rss_mb is the largest
process's, workers included. ``--repeat R`` runs
the two workers R times each, in turns, and keeps the medians (the speed-up
of each pair in ``speedups``).
Targets: peak_rss_mb under 500 whatever the size; mb_per_s at least 5 per
process; speedup_vs_1 at least 1.8 with 2 processes on 2 cores.
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

    def analyse(source: Path, folder: Path) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        analyzer = DocumentAnalyzer(workdir=folder, seed="bench")
        shards = ShardWriter(folder, save)
        with source.open("rb") as handle:
            stream, counter = buffered(handle)
            items = read_documents(stream, name=source.name, fmt="jsonl", options=FormatOptions())
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
        assert analyzer.near is not None
        return analyzer.report(analyzer.near.duplicates(), counter.count)

    # A worker pays once what a first document costs (the language model,
    # libraries loaded on first use): its first lines, before the clock.
    first = workdir / "first.jsonl"
    with path.open("rb") as handle, first.open("wb") as out:
        out.writelines(line for _, line in zip(range(20), handle))
    analyse(first, workdir / "first")
    start = time.perf_counter()
    report = analyse(path, workdir / "all")
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


def _pool_peak_rss_mb(worker: subprocess.Popen) -> float:
    """The largest peak resident memory among a Celery worker's processes."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == worker.pid or int(status.parent.name) == worker.pid:
            peaks.append(int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return round(max(peaks, default=0.0), 1)


def run_workers(path: Path, workdir: Path, concurrency: int, part_bytes: int, attempt: int = 0) -> dict:
    """The whole analysis of a corpus made of ``path``, submitted as a
    member does and run by a Celery worker of ``concurrency`` processes:
    split in parts of ``part_bytes``, analysed in parallel, merged. Seconds
    from the submission to the report."""
    import os

    from django.core.files.uploadedfile import UploadedFile

    from contributions import accounts, submissions
    from contributions.models import AnalysisRun, JobStatus, Role, User

    env = {**os.environ, "ANALYSIS_PART_BYTES": str(part_bytes), "ANALYSIS_PARTS_IN_FLIGHT": str(2 * concurrency)}
    log = (workdir / f"worker-{concurrency}-{attempt}.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openllm_site", "worker", "--pool", "prefork",
         "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-mingle", "--without-gossip"],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        from openllm_site.celery import app

        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):  # timed from a worker ready to work
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start: see {log.name}")
        member = User.objects.create_user(f"member-{concurrency}-{attempt}@bench.invalid", None, role=Role.MEMBER)
        accounts.agreement_accept(user=member)
        corpus = submissions.corpus_create(
            submitter=member, title=f"Bench {concurrency}", description="Bench.", languages=["fr"],
            license="CC-BY-4.0", domain="web", source_url="https://example.org/bench", rights_attested=True,
        )
        with path.open("rb") as handle:
            upload = UploadedFile(handle, name=path.name, size=path.stat().st_size)
            submissions.corpus_file_add(corpus=corpus, actor=member, upload=upload)
        start = time.perf_counter()
        run = submissions.corpus_submit(corpus=corpus, actor=member)
        while run.status not in (JobStatus.DONE, JobStatus.FAILED):
            if worker.poll() is not None:
                raise SystemExit(f"the worker stopped: see {log.name}")
            time.sleep(0.1)
            run = AnalysisRun.objects.get(pk=run.pk)
        seconds = time.perf_counter() - start
        if run.status != JobStatus.DONE:
            raise SystemExit(f"the analysis failed: {run.error}")
        parts = list(run.parts.all())
        parts_end = max(part.finished_at for part in parts) if parts else run.started_at
        # The share of the processes' time spent in parts, from the first
        # part's start to the last one's end: what the gaps between parts,
        # and the last parts ending apart, cost.
        busy = sum((part.finished_at - part.started_at).total_seconds() for part in parts)
        span = (parts_end - min(part.started_at for part in parts)).total_seconds() if parts else 0
        return {"seconds": seconds, "parts": run.parts_count, "documents": run.report["documents"],
                "merge_seconds": (run.finished_at - parts_end).total_seconds(),
                "busy_share": busy / (concurrency * span) if span else 1.0,
                "peak_rss_mb": _pool_peak_rss_mb(worker)}
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()


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
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="also run the whole analysis through a Celery worker of N processes, and of 1")
    parser.add_argument("--repeat", type=int, default=1, metavar="R",
                        help="with --workers: R runs of each, their medians kept")
    parser.add_argument("--tiny", action="store_true", help="0.2 MB, without datatrove: a check that it runs")
    args = parser.parse_args()
    if args.tiny:
        args.size_mb, args.no_datatrove, args.workers = 0.2, True, 2
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        path = args.input
        if path is None:
            from bench.corpusgen import write_jsonl

            path = workdir / "corpus.jsonl"
            write_jsonl(str(path), int(args.size_mb * 1e6))
        figures = run_analysis(path, workdir)
        if args.workers:
            size = path.stat().st_size
            # Eight parts a process at least, so that they can spread.
            part_bytes = max(50_000, min(64 * 1024**2, size // (8 * args.workers)))
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            # One worker then N, in turns: a machine whose speed drifts
            # (shared cores) slows both alike. The medians are kept.
            ones, manys = [], []
            for attempt in range(args.repeat):
                ones.append(run_workers(path, workdir, 1, part_bytes, attempt))
                manys.append(run_workers(path, workdir, args.workers, part_bytes, attempt) if args.workers > 1
                             else ones[-1])
            one, many = (sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2] for runs in (ones, manys))
            figures.update({
                "workers": args.workers, "parts": many["parts"], "repeat": args.repeat,
                "workers_mb_per_s": round(size / 1e6 / many["seconds"], 2),
                "one_worker_mb_per_s": round(size / 1e6 / one["seconds"], 2),
                "speedup_vs_1": round(one["seconds"] / many["seconds"], 2),
                "speedups": sorted(round(a["seconds"] / b["seconds"], 2) for a, b in zip(ones, manys)),
                "merge_seconds": round(many["merge_seconds"], 2),
                "busy_share": round(many["busy_share"], 2),
                "peak_rss_mb": max(figures["peak_rss_mb"], *(run["peak_rss_mb"] for run in ones + manys)),
            })
        if not args.no_datatrove:
            figures.update(run_datatrove(path, workdir))
            if "datatrove_mb_per_s" in figures:
                figures["ratio_vs_datatrove"] = round(figures["mb_per_s"] / figures["datatrove_mb_per_s"], 1)
    emit(figures)
    leave()


if __name__ == "__main__":
    main()
