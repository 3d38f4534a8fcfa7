"""Helpers to build corpora, files and analyses in tests."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from contributions import submissions
from contributions.jobs import job_run, job_run_here
from contributions.models import AnalysisRun, Corpus, JobStatus

METADATA = {
    "title": "Comptes rendus du conseil municipal",
    "description": "Procès-verbaux publics, 2010-2020.",
    "languages": ["fr"],
    "license": "etalab-2.0",
    "domain": "administrative",
    "source_url": "https://example.org/conseil",
    "collection_method": "",
    "rights_attested": True,
    "web_collected": False,
    "tdm_respected": False,
    "may_contain_personal_data": True,
}

FRENCH = [
    "Le conseil municipal s'est réuni le mardi soir pour examiner le budget de la commune et les travaux de "
    "rénovation de l'école primaire. Les élus ont longuement débattu de la question du stationnement.",
    "La bibliothèque propose désormais des ateliers de lecture pour les enfants le mercredi après-midi. "
    "Les inscriptions sont ouvertes à la mairie et sur place, dans la limite des places disponibles.",
    "Une nouvelle piste cyclable reliera bientôt la gare au centre-ville. Les travaux commenceront au "
    "printemps et dureront environ six mois, selon le calendrier présenté par les services techniques.",
]


def upload(name: str, content: bytes | str) -> SimpleUploadedFile:
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def jsonl(*texts: str, **extra) -> bytes:
    import orjson

    return b"".join(orjson.dumps({"text": t, **extra}) + b"\n" for t in texts)


def parquet(texts: list[str], column: str = "text", **extra_columns) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({column: texts, **extra_columns}), buffer)
    return buffer.getvalue()


def zip_of(members: dict[str, bytes], **kwargs) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_of(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def make_corpus(user, **overrides) -> Corpus:
    return submissions.corpus_create(submitter=user, **{**METADATA, **overrides})


def add_file(corpus: Corpus, name: str, content: bytes | str, **options):
    return submissions.corpus_file_add(corpus=corpus, actor=corpus.submitter, upload=upload(name, content), **options)


def submitted(user, files: list[tuple], **overrides) -> tuple[Corpus, AnalysisRun]:
    corpus = make_corpus(user, **overrides)
    for name, content, *options in files:
        add_file(corpus, name, content, **(options[0] if options else {}))
    run = submissions.corpus_submit(corpus=corpus, actor=user)
    return corpus, run


def job_finished(kind: str, job_id: int, timeout: float = 120) -> None:
    """Run a job in this process, as the worker would. In a test whose
    transactions commit (browser tests), a worker of the test session may
    have claimed it first: then wait for that worker to finish it."""
    job = job_run_here(kind, job_id, timeout=timeout)
    assert job.status not in (JobStatus.QUEUED, JobStatus.RUNNING), f"{kind} job {job_id} unfinished after {timeout} s"


def analysis_finished(run_id: int, timeout: float = 120) -> None:
    """Run an analysis in this process, as the workers would: its parts too
    when it is split, then its merge."""
    deadline = time.monotonic() + timeout
    while True:
        job_run("analysis", run_id)
        run = AnalysisRun.objects.get(pk=run_id)
        if run.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return
        assert time.monotonic() < deadline, f"analysis {run_id} still unfinished after {timeout} s"
        due = run.parts.filter(status=JobStatus.QUEUED, run_after__lte=timezone.now()).order_by("number")
        ran = [job_run("analysis_part", part_id) for part_id in due.values_list("pk", flat=True)]
        if not ran:
            time.sleep(0.2)  # a worker of the test session has it


def analysed(user, files: list[tuple], **overrides) -> tuple[Corpus, AnalysisRun]:
    """Submit and analyse in this process, as the worker would."""
    corpus, run = submitted(user, files, **overrides)
    analysis_finished(run.id)
    corpus.refresh_from_db()
    run.refresh_from_db()
    return corpus, run


def shard_rows(run: AnalysisRun) -> list[dict]:
    rows = []
    for name in run.shards:
        with default_storage.open(name, "rb") as handle:
            rows.extend(pq.read_table(handle).to_pylist())
    return rows


def near_duplicates(run: AnalysisRun) -> dict[int, int]:
    with default_storage.open(run.near_duplicates, "rb") as handle:
        table = pq.read_table(handle).to_pydict()
    return dict(zip(table["doc_index"], table["duplicate_of"]))
