"""Throughput and memory of a release build, on one process.

    .venv/bin/python bench/release.py --size-mb 200
    .venv/bin/python bench/release.py --tiny     # seconds: does it still run?

Prepares, in another process and a throw-away site (SQLite database and
media under a temporary folder), corpora of the given total size the way the
site does: generated JSONL uploaded, submitted, analysed, approved by a
maintainer, its training-ready version built, then a release created with
``release_create`` (which fixes its inputs). Then builds that release with
the real code (two passes: duplicates across corpora, then the configs, card
and manifest) and prints one JSON line with rows_per_s, mb_per_s (text bytes
of the training-ready documents) and peak_rss_mb, next to pyarrow writing the
same rows straight to Parquet (pyarrow_mb_per_s, ratio_vs_pyarrow). Targets:
at least half pyarrow's speed; peak RSS under 1 GB for a 5 GB release.
Preparing costs far more than building (the analysis runs at about 5 MB/s).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, leave, peak_rss_mb, throwaway_site  # noqa: E402

FIGURES = ("input_mb", "rows", "seconds", "rows_per_s", "mb_per_s", "peak_rss_mb", "pyarrow_mb_per_s",
           "ratio_vs_pyarrow")
VERSION = "bench"


def prepare(tmp: Path, size_mb: float, corpora: int) -> None:
    """Release-ready corpora and a release, through the site's own functions
    and jobs (run in this process, as a worker would)."""
    throwaway_site(tmp, migrate=True)
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import UploadedFile

    from bench.corpusgen import write_jsonl
    from contributions import accounts, releases, review, submissions
    from contributions.jobs import job_run
    from contributions.models import Corpus, CorpusStatus, Decision, JobStatus, Role, TrainingVersion, User

    # No password: hashing one costs a second.
    member = User.objects.create_user("member@bench.invalid", None, role=Role.MEMBER)
    maintainer = User.objects.create_user("maintainer@bench.invalid", None, role=Role.MAINTAINER)
    for user in (member, maintainer):
        accounts.agreement_accept(user=user)
    per_corpus = int(size_mb * 1e6 / corpora)
    for number in range(corpora):
        corpus = submissions.corpus_create(
            submitter=member,
            title=f"Corpus {number}",
            description="Generated French text.",
            languages=["fr"],
            # Both configs (open and restricted), as the earlier figures had.
            license="CC-BY-4.0" if number % 3 else "CC-BY-NC-4.0",
            domain="web",
            source_url="https://example.org/bench",
            rights_attested=True,
        )
        path = tmp / f"corpus-{number}.jsonl"
        write_jsonl(str(path), per_corpus, seed=number)
        with path.open("rb") as handle:
            upload = UploadedFile(handle, name=path.name, size=path.stat().st_size)
            submissions.corpus_file_add(corpus=corpus, actor=member, upload=upload)
        path.unlink()
        run = submissions.corpus_submit(corpus=corpus, actor=member)
        job_run("analysis", run.id)
        run.refresh_from_db()
        if run.status != JobStatus.DONE:
            raise SystemExit(f"analysis of corpus {number} failed: {run.error}")
        review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
        version = TrainingVersion.objects.get(corpus=corpus)
        job_run("training", version.id)
        version.refresh_from_db()
        if version.status != JobStatus.DONE:
            raise SystemExit(f"training-ready version of corpus {number} failed: {version.error}")
    assert Corpus.objects.filter(status=CorpusStatus.QUEUED_FOR_TRAINING).count() == corpora
    releases.release_create(actor=maintainer, version=VERSION)
    # What the build reads: the text of the training-ready documents.
    total = 0
    for version in TrainingVersion.objects.all():
        for name in version.shards:
            with default_storage.open(name, "rb") as handle:
                total += pc.sum(pc.binary_length(pq.read_table(handle, columns=["text"])["text"])).as_py() or 0
    (tmp / "text_bytes").write_text(str(total))


def build(tmp: Path) -> dict:
    throwaway_site(tmp)
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage

    from contributions.models import Release, TrainingVersion
    from contributions.releases import build_into
    from contributions.training import TRAINING_SCHEMA

    release = Release.objects.get(version=VERSION)
    inputs = release.entries.values("training_version_id")
    versions = TrainingVersion.objects.filter(id__in=inputs).order_by("corpus_id")
    shards = [name for version in versions for name in version.shards]
    if not shards:
        raise SystemExit("the release has no input: nothing to measure")
    text_bytes = int((tmp / "text_bytes").read_text())

    start = time.perf_counter()
    _files, stats = build_into(release, tmp / "out", tmp / "work")
    elapsed = time.perf_counter() - start
    peak = peak_rss_mb()
    if not stats["documents"]:
        raise SystemExit("the release carries no document")

    # The same rows, straight from the shards to one zstd Parquet file.
    start = time.perf_counter()
    with pq.ParquetWriter(tmp / "straight.parquet", TRAINING_SCHEMA, compression="zstd") as writer:
        for name in shards:
            with default_storage.open(name, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=1000):
                    writer.write_batch(batch)
    straight = time.perf_counter() - start
    mb = text_bytes / 1e6
    rows = stats["documents"] + sum(stats["duplicates_removed"].values())
    return {
        "input_mb": round(mb, 2),
        "rows": rows,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(rows / elapsed, 1),
        "mb_per_s": round(mb / elapsed, 2),
        "peak_rss_mb": peak,
        "pyarrow_mb_per_s": round(mb / straight, 2),
        # Significant digits: a tiny run's ratio is far below 0.01.
        "ratio_vs_pyarrow": float(f"{straight / elapsed:.2g}"),
        "duplicates_removed": stats["duplicates_removed"],
        "configs": sorted(stats["configs"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--corpora", type=int, default=4)
    parser.add_argument("--tiny", action="store_true", help="0.2 MB in 2 corpora: a check that it runs")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tiny:
        args.size_mb, args.corpora = 0.2, 2
    if args.prepare is not None:
        prepare(args.prepare, args.size_mb, args.corpora)
        leave()
    tmp = Path(tempfile.mkdtemp(prefix="bench-release-"))
    try:
        # The inputs are prepared by another process, so that the peak RSS
        # printed is the build's alone. Its stdout is ours stderr: our last
        # line stays the figures.
        subprocess.run(
            [sys.executable, __file__, "--size-mb", str(args.size_mb), "--corpora", str(args.corpora),
             "--prepare", str(tmp)],
            check=True, stdout=sys.stderr,
        )
        figures = build(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(figures)
    leave()


if __name__ == "__main__":
    main()
