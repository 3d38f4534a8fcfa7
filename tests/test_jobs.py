"""The job runner's contract, for every kind of job in the registry.

Each kind gets a real job (a real corpus to analyse, a real release to
build...), run in this process as a worker would run it; "killed" attempts
are claims whose worker stopped beating, with the files a dead worker leaves.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone, translation

from contributions import emails, jobs, releases, removals, review
from contributions.jobs import REGISTRY, Outcome, Retry, job_run
from contributions.models import (
    AnalysisPart,
    AnalysisRun,
    Corpus,
    CorpusStatus,
    Decision,
    DocumentFingerprint,
    JobStatus,
    TrainingVersion,
)
from contributions.texts import message_render

from .corpora import FRENCH, jsonl, submitted
from .factories import MaintainerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield

# Written by hand: what each kind promises (attempt cap, what an exception
# means, whether it keeps files). Not read from the registry.
KINDS = {
    "analysis": (3, Retry.NEVER, True),
    "analysis_part": (3, Retry.NEVER, True),
    "training": (3, Retry.BACKOFF, True),
    "release": (3, Retry.NEVER, True),
    "email": (5, Retry.BACKOFF, False),
    "removal_search": (3, Retry.BACKOFF, False),
}


def test_the_registry_holds_every_kind_with_its_rules():
    assert {name: (k.max_attempts, k.retry, k.folder is not None) for name, k in REGISTRY.items()} == KINDS


def test_every_kind_has_a_one_line_task_sent_by_name():
    import ast
    import inspect

    import contributions.tasks  # what the worker loads; the site never imports it
    from openllm_site.celery import app

    for kind in REGISTRY.values():
        task = app.tasks[kind.task]
        [function] = ast.parse(inspect.getsource(task.run)).body
        assert len(function.body) == 1, kind.name
    # Domain code sends tasks by name: no module of the app imports them.
    app = Path(contributions.tasks.__file__).parent
    importers = []
    for path in app.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and not node.module:
                names = [alias.name for alias in node.names]
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name == "tasks" or name.endswith(".tasks") for name in names):
                importers.append(path.name)
    assert importers == []


# ---------------------------------------------------------------- real jobs of each kind


def _analysis():
    _corpus, run = submitted(UserFactory(), [("a.jsonl", jsonl(*FRENCH))])
    return run


def _analysis_part():
    # The one part of a run, as if planned by a split analysis.
    run = _analysis()
    stored = run.corpus.files.get()
    AnalysisRun.objects.filter(pk=run.pk).update(parts_count=1)
    return AnalysisPart.objects.create(run=run, number=0, file=stored, progress_total=stored.size)


def _approved(maintainer):
    corpus, run = submitted(UserFactory(), [("a.jsonl", jsonl(*FRENCH))])
    assert job_run("analysis", run.id) is Outcome.DONE
    corpus.refresh_from_db()
    review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    return TrainingVersion.objects.get(corpus=corpus)


def _training():
    return _approved(MaintainerFactory())


def _release(version="r1", public=False):
    maintainer = MaintainerFactory()
    training = _approved(maintainer)
    assert job_run("training", training.id) is Outcome.DONE
    return releases.release_create(actor=maintainer, version=version, public=public)


def _email():
    [row] = emails.email_queue(message=EmailMessage("Objet", "Corps", "site@example.org", ["lea@example.org"]))
    return row


def _removal_search():
    release = _release(version="public", public=True)
    assert job_run("release", release.id) is Outcome.DONE
    removal = removals.removal_request_file(kind="copyright", contact="a@example.org", phrase=FRENCH[1][:40])
    return removals.removal_confirm(removal=removal)


MAKERS = {
    "analysis": _analysis,
    "analysis_part": _analysis_part,
    "training": _training,
    "release": _release,
    "email": _email,
    "removal_search": _removal_search,
}
every_kind = pytest.mark.parametrize("name", sorted(KINDS))


def fresh(job):
    return type(job).objects.get(pk=job.pk)


def killed_attempt(name: str, job) -> int:
    """A worker claims the job, writes a file and a temporary folder, then
    dies without a word: its heartbeat goes stale."""
    kind = REGISTRY[name]
    claimed = jobs.job_claim(kind, job.pk)
    assert not isinstance(claimed, Outcome), claimed
    folder = kind.storage_folder(claimed)
    if folder:
        default_storage.save(f"{folder}/attempt-{claimed.attempt}/shard-00000.parquet", ContentFile(b"half"))
    workdir = jobs._workdir(kind, claimed)
    workdir.mkdir(parents=True)
    (workdir / "partial").write_bytes(b"x")
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    type(job).objects.filter(pk=job.pk).update(heartbeat_at=stale)
    return claimed.attempt


def leftovers(name: str, job) -> list[str]:
    kind = REGISTRY[name]
    found = [p.name for p in Path(settings.JOB_WORK_DIR).glob(f"{name}-{job.pk}-attempt-*")]
    folder = kind.storage_folder(job)
    if folder:
        try:
            found += default_storage.listdir(folder)[0]
        except FileNotFoundError:
            pass
    return found


# ---------------------------------------------------------------- the contract


@every_kind
def test_a_job_killed_more_often_than_its_cap_fails_with_the_reason(name):
    job = MAKERS[name]()
    cap = KINDS[name][0]
    for _ in range(cap):
        killed_attempt(name, job)
    assert job_run(name, job.pk) is Outcome.FAILED
    job = fresh(job)
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    error = message_render(job.error)
    assert f"{cap} times" in error and "without finishing" in error
    assert leftovers(name, job) == []
    if name == "analysis":
        # The corpus says why, and the run's fingerprints are gone with it.
        corpus = Corpus.objects.get(pk=job.corpus_id)
        assert corpus.status == CorpusStatus.FAILED and "without finishing" in message_render(corpus.status_reason)
        assert not DocumentFingerprint.objects.filter(run_id=job.pk).exists()


@every_kind
def test_an_exception_follows_the_declared_policy(name, monkeypatch):
    job = MAKERS[name]()
    kind = REGISTRY[name]
    calls = []

    def broken(job, context):
        calls.append(job.attempt)
        raise OSError("storage unavailable")

    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(kind, run=broken))
    outcome = job_run(name, job.pk)
    job = fresh(job)
    assert "storage unavailable" in job.error
    if KINDS[name][1] is Retry.NEVER:
        assert outcome is Outcome.FAILED and job.status == JobStatus.FAILED
        if name == "analysis":
            # The submitter reads that it broke, not the internals.
            reason = Corpus.objects.get(pk=job.corpus_id).status_reason
            assert message_render(reason) == "internal error; the maintainers have the details"
            # What broke is named for maintainers, never the exception's text.
            assert "OSError" in message_render(reason, technical=True) and "storage unavailable" not in reason
        return
    # Back-off: queued again for later, not at once; then again until the cap.
    assert outcome is Outcome.REQUEUED and job.status == JobStatus.QUEUED and job.run_after > timezone.now()
    assert job_run(name, job.pk) is Outcome.NOTHING  # not due yet
    for _ in range(KINDS[name][0] - 1):
        type(job).objects.filter(pk=job.pk).update(run_after=timezone.now())
        job_run(name, job.pk)
    job = fresh(job)
    assert job.status == JobStatus.FAILED and len(calls) == KINDS[name][0]


@every_kind
def test_a_job_that_lost_its_claim_writes_nothing_after(name, monkeypatch):
    job = MAKERS[name]()
    kind = REGISTRY[name]
    taken_over = []

    finished_its_work = []

    def taken_over_midway(job, context):
        # Another worker takes the job over while this one works.
        type(job).objects.filter(pk=job.pk).update(attempt=F("attempt") + 1)
        taken_over.append(job.attempt + 1)
        done = kind.run(job, context)
        finished_its_work.append(True)
        return done

    monkeypatch.setitem(REGISTRY, name, dataclasses.replace(kind, run=taken_over_midway))
    assert job_run(name, job.pk) is Outcome.LOST
    job = fresh(job)
    assert job.status == JobStatus.RUNNING and job.attempt == taken_over[0]
    assert job.finished_at is None and job.storage_bytes == 0
    assert leftovers(name, job) == []
    # Its heartbeat stopped it at once (an email is one step: the final
    # update is what refuses it).
    assert finished_its_work == ([True] if name == "email" else [])
    if name == "analysis":
        assert not DocumentFingerprint.objects.filter(run_id=job.pk).exists()


@every_kind
def test_earlier_attempts_files_and_temporary_folders_are_removed(name):
    job = MAKERS[name]()
    killed_attempt(name, job)
    assert leftovers(name, job)
    assert job_run(name, job.pk) is Outcome.DONE
    job = fresh(job)
    assert job.status == JobStatus.DONE and job.attempt == 2
    folder = REGISTRY[name].storage_folder(job)
    assert leftovers(name, job) == (["attempt-2"] if folder else [])


@every_kind
def test_a_message_delivered_twice_does_the_work_once(name):
    job = MAKERS[name]()
    mail.outbox.clear()
    assert job_run(name, job.pk) is Outcome.DONE
    done = fresh(job)
    assert job_run(name, job.pk) is Outcome.NOTHING
    again = fresh(job)
    assert again.attempt == done.attempt == 1 and again.finished_at == done.finished_at
    if name == "email":
        assert len(mail.outbox) == 1


@every_kind
def test_a_live_worker_keeps_its_job(name):
    job = MAKERS[name]()
    claimed = jobs.job_claim(REGISTRY[name], job.pk)
    assert not isinstance(claimed, Outcome)
    # A second message while the first worker beats: nothing happens.
    assert job_run(name, job.pk) is Outcome.BUSY
    assert fresh(job).attempt == 1


@every_kind
def test_the_sweeper_sends_again_what_a_lost_message_or_a_dead_worker_left(name, monkeypatch):
    sent = []
    monkeypatch.setattr(jobs, "_send", lambda kind, job_id, countdown=None: sent.append((kind.name, job_id)))
    job = MAKERS[name]()
    sent.clear()
    type(job).objects.filter(pk=job.pk).update(run_after=timezone.now() - jobs.REQUEUE_AFTER - timedelta(seconds=1))
    assert jobs.jobs_requeue_stale() >= 1 and (name, job.pk) in sent
    # Once per stale delay, not at every sweep.
    sent.clear()
    jobs.jobs_requeue_stale()
    assert (name, job.pk) not in sent


@every_kind
def test_a_maintainer_can_cancel_then_retry_a_job(name, django_capture_on_commit_callbacks):
    job = MAKERS[name]()
    killed_attempt(name, job)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.job_cancel(job, reason="plus tard")
    job = fresh(job)
    # The dead worker's temporary folder goes at the next job on its machine.
    assert job.status == JobStatus.CANCELLED and leftovers(name, job) == [f"{name}-{job.pk}-attempt-1"]
    if name == "analysis":
        corpus = Corpus.objects.get(pk=job.corpus_id)
        assert corpus.status == CorpusStatus.FAILED and corpus.status_reason == "plus tard"
    if name == "analysis_part":
        # A cancelled part fails its analysis; that is what is tried again.
        assert fresh(job.run).status == JobStatus.FAILED
        with pytest.raises(ValidationError):
            jobs.job_retry(job)
        return
    jobs.job_retry(job)
    job = fresh(job)
    assert job.status == JobStatus.QUEUED and job.attempt_base == job.attempt == 1
    assert job_run(name, job.pk) is Outcome.DONE
    job = fresh(job)
    assert job.attempt == 2 and leftovers(name, job) == (["attempt-2"] if KINDS[name][2] else [])


def test_a_cancelled_analysis_leaves_no_fingerprints(member, django_capture_on_commit_callbacks):
    _corpus, run = submitted(member, [("a.jsonl", jsonl(*FRENCH))])
    assert job_run("analysis", run.id) is Outcome.DONE
    assert DocumentFingerprint.objects.filter(run_id=run.id).count() == 3
    type(run).objects.filter(pk=run.pk).update(status=JobStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_cancel(run, reason="x")
    assert not DocumentFingerprint.objects.filter(run_id=run.id).exists()


def test_retrying_an_analysis_whose_corpus_moved_on_is_refused(member):


    from contributions import submissions

    corpus, run = submitted(member, [("a.jsonl", jsonl(*FRENCH))])
    jobs.job_cancel(run, reason="x")
    submissions.corpus_submit(corpus=Corpus.objects.get(pk=corpus.pk), actor=member)
    with pytest.raises(ValidationError):
        jobs.job_retry(run)


def test_an_analysis_taken_over_midway_writes_no_more_fingerprints(member, monkeypatch):
    from contributions.analysis import pipeline

    _corpus, run = submitted(member, [("a.jsonl", jsonl(*[f"Document {i}. " + FRENCH[i % 3] for i in range(50)]))])
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 10)
    real_finish_batch = pipeline.DocumentAnalyzer.finish_batch
    batches = []

    def finish_batch(self, rows):
        batches.append(len(rows))
        if len(batches) == 2:
            # Between two beats, another worker takes the analysis over.
            AnalysisRun.objects.filter(pk=run.pk).update(attempt=F("attempt") + 1)
        real_finish_batch(self, rows)

    monkeypatch.setattr(pipeline.DocumentAnalyzer, "finish_batch", finish_batch)
    assert job_run("analysis", run.pk) is Outcome.LOST
    # The first batch was written under the claim; none after it was lost.
    assert DocumentFingerprint.objects.filter(run_id=run.pk).count() == 10
