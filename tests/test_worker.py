"""Behaviour that needs the real broker and a real worker process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from contributions import emails, jobs, submissions
from contributions.models import AnalysisPart, AnalysisRun, CorpusStatus, JobStatus, OutgoingEmail, User

from .conftest import ROOT, STALE_SECONDS, Worker, child_env
from .corpora import FRENCH, add_file, jsonl, make_corpus, shard_rows

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_status(email_id: int, status: str, timeout: float = 30) -> OutgoingEmail:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = OutgoingEmail.objects.get(id=email_id)
        if row.status == status:
            return row
        time.sleep(0.2)
    raise AssertionError(f"email {email_id} still {row.status}")


def test_email_is_delivered_by_the_worker_after_commit(celery_worker):
    with transaction.atomic():
        [row] = emails.email_queue(
            message=EmailMessage("Bonjour", "Un message accentué : é à ç.", "site@example.org", ["lea@example.org"])
        )
    row = wait_for_status(row.id, JobStatus.DONE)
    [mail] = celery_worker.wait_for_mail("lea@example.org")
    assert mail["Subject"] == "Bonjour"
    assert celery_worker.text(mail).strip() == "Un message accentué : é à ç."
    # One-time links do not stay in the database once delivered.
    assert row.body_text == "" and row.finished_at is not None and row.attempt == 1


def test_a_message_delivered_twice_sends_one_email(celery_worker):
    with transaction.atomic():
        [row] = emails.email_queue(message=EmailMessage("Une fois", "x", "site@example.org", ["once@example.org"]))
    wait_for_status(row.id, JobStatus.DONE)
    from contributions.tasks import deliver_email

    deliver_email.delay(row.id)
    marker = EmailMessage("Témoin", "x", "site@example.org", ["once@example.org"])
    with transaction.atomic():
        [witness] = emails.email_queue(message=marker)
    wait_for_status(witness.id, JobStatus.DONE)  # the queue is FIFO with one worker
    subjects = [m["Subject"] for m in celery_worker.mails("once@example.org")]
    assert sorted(subjects) == ["Témoin", "Une fois"]


def test_a_lost_broker_message_is_found_again_by_the_sweeper(celery_worker):
    # The row was committed but its message never reached the broker (Redis
    # restarted, say): the sweeper sends it again.
    row = OutgoingEmail.objects.create(
        to="lost@example.org",
        subject="Retrouvé",
        body_text="x",
        from_email="site@example.org",
        created_at=timezone.now() - timedelta(minutes=5),
        run_after=timezone.now() - timedelta(minutes=5),
    )
    assert jobs.jobs_requeue_stale() == 1
    wait_for_status(row.id, JobStatus.DONE)
    assert len(celery_worker.wait_for_mail("lost@example.org")) == 1


def test_signup_confirmation_and_login_through_the_worker(client, celery_worker):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "worker-path@example.org",
            "password1": "un-mot-de-passe-solide-42",
            "password2": "un-mot-de-passe-solide-42",
            "display_name": "Par le worker",
            "accept_agreement": "on",
        },
    )
    assert response.status_code == 302
    [mail] = celery_worker.wait_for_mail("worker-path@example.org")
    confirm = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", celery_worker.text(mail)).group(1)
    assert client.post(confirm).status_code == 302
    client.post(reverse("account_login"), {"login": "worker-path@example.org", "password": "un-mot-de-passe-solide-42"})
    assert client.session["_auth_user_id"] == str(User.objects.get(email="worker-path@example.org").pk)


def test_healthz_is_ok_with_a_worker(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "workers": "ok", "cache": "ok"}


def test_healthcheck_fails_when_the_broker_is_down(celery_worker):
    result = subprocess.run(
        [sys.executable, "manage.py", "healthcheck"],
        cwd=ROOT,
        env=child_env(CELERY_BROKER_URL="redis://127.0.0.1:9/0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    state = json.loads(result.stdout)
    assert state["database"] == "ok"
    assert state["broker"].startswith("error")


def test_healthz_is_503_when_no_worker_answers(client, celery_worker):
    celery_worker.stop()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["workers"].startswith("error")
        assert response.json()["database"] == "ok"
    finally:
        celery_worker.restart()


# ---------------------------------------------------------------- analysis


def big_jsonl(size_mb: float, seed: int = 1) -> bytes:
    from bench.corpusgen import documents

    return jsonl(*documents(int(size_mb * 1e6), seed=seed))


def wait_for_run(run_id: int, predicate, timeout: float = 120) -> AnalysisRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = AnalysisRun.objects.get(id=run_id)
        if predicate(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id}: {run.status}, {run.documents_done} docs, error {run.error!r}")


def test_submitted_corpus_is_analysed_by_the_worker(client, member, celery_worker):
    client.force_login(member)
    corpus = make_corpus(member)
    add_file(corpus, "a.jsonl", jsonl(*FRENCH, "Écrire à jeanne@exemple.fr."))
    client.post(reverse("contributions:corpus_submit", args=[corpus.pk]))
    run = AnalysisRun.objects.get(corpus=corpus)
    run = wait_for_run(run.id, lambda r: r.status in {JobStatus.DONE, JobStatus.FAILED})
    assert run.status == JobStatus.DONE, run.error
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    assert run.report["documents"] == 4 and run.report["personal_data"]["email"]["documents"] == 1
    assert len(shard_rows(run)) == 4


def test_progress_is_visible_while_the_worker_runs(client, member, celery_worker):
    corpus = make_corpus(member)
    add_file(corpus, "big.jsonl", big_jsonl(12))
    submissions.corpus_submit(corpus=corpus, actor=member)
    client.force_login(member)
    url = reverse("contributions:corpus_progress", args=[corpus.pk])
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        analysis = client.get(url).json()["analysis"]
        seen.append(analysis)
        if analysis["status"] in {"done", "failed"}:
            break
        time.sleep(0.2)
    assert seen[-1]["status"] == "done", seen[-1]
    running = [a for a in seen if a["status"] == "running" and 0 < a["percent"] < 100]
    assert running, "no progress seen while running"
    assert any(a["eta_seconds"] is not None for a in running)
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "documents" in html


def _complete_and_correct(run: AnalysisRun, expected_docs: int) -> None:
    from django.core.files.storage import default_storage

    assert run.status == JobStatus.DONE, run.error
    assert run.report["documents"] == expected_docs
    assert len(shard_rows(run)) == expected_docs
    assert sorted(row["doc_index"] for row in shard_rows(run)) == list(range(expected_docs))
    # Only the finishing attempt's files remain, and the merged shards of a
    # split analysis: each once, none of a merge that did not count.
    base = f"analysis/{run.id}"
    folders = default_storage.listdir(base)[0]
    assert [name for name in folders if name.startswith("attempt-")] == [f"attempt-{run.attempt}"]
    if run.parts_count:
        merged = {f"{base}/merged/{name}" for name in default_storage.listdir(f"{base}/merged")[1]}
        assert merged == set(run.shards)
    from contributions.models import DocumentFingerprint

    assert DocumentFingerprint.objects.filter(corpus_id=run.corpus_id).count() == expected_docs
    # The killed attempt's temporary folder went with the next attempt.
    assert not list(Path(settings.JOB_WORK_DIR).glob(f"analysis-{run.id}-attempt-*"))


def test_a_killed_pool_process_gives_the_task_back_and_it_completes(member, celery_worker):
    content = big_jsonl(12, seed=2)
    expected = content.count(b"\n")
    corpus = make_corpus(member)
    add_file(corpus, "big.jsonl", content)
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    wait_for_run(run.id, lambda r: r.status == JobStatus.RUNNING and r.documents_done > 0)
    for pid in celery_worker.children():
        os.kill(pid, signal.SIGKILL)  # the task's process dies; the worker lives
    run = wait_for_run(run.id, lambda r: r.status == JobStatus.DONE and r.attempt >= 2, timeout=180)
    _complete_and_correct(run, expected)


def test_a_killed_worker_loses_no_work(member, celery_worker, settings):
    settings.JOB_STALE_SECONDS = STALE_SECONDS
    content = big_jsonl(12, seed=3)
    expected = content.count(b"\n")
    corpus = make_corpus(member)
    add_file(corpus, "big.jsonl", content)
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    wait_for_run(run.id, lambda r: r.status == JobStatus.RUNNING and r.documents_done > 0)
    celery_worker.kill()  # the whole worker: its message is gone with it
    try:
        celery_worker.start()
        time.sleep(STALE_SECONDS + 1)
        # What the beat's sweeper does every minute.
        assert jobs.jobs_requeue_stale() >= 1
        run = wait_for_run(run.id, lambda r: r.status == JobStatus.DONE, timeout=180)
    finally:
        if celery_worker.process.poll() is not None:
            celery_worker.start()
    assert run.attempt == 2
    _complete_and_correct(run, expected)
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.AWAITING_REVIEW


def test_a_split_analysis_runs_on_many_workers_and_a_killed_one_costs_only_its_part(
    member, celery_worker, tmp_path, settings
):
    settings.JOB_STALE_SECONDS = STALE_SECONDS
    # Parts long enough (a second or so) to be killed well before they end.
    content = big_jsonl(20, seed=5)
    expected = content.count(b"\n")
    env = {**celery_worker.env, "ANALYSIS_PART_BYTES": str(2_500_000), "ANALYSIS_PARTS_IN_FLIGHT": "4"}
    celery_worker.stop()
    workers = [Worker(env, celery_worker.outbox, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        for worker in workers:
            worker.start()
        corpus = make_corpus(member)
        add_file(corpus, "big.jsonl", content)
        run = submissions.corpus_submit(corpus=corpus, actor=member)
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "no part ran alongside a finished one"
            parts = AnalysisPart.objects.filter(run=run)
            # A part just started (its worker is killed well before it ends;
            # its progress is written once a second, too seldom to tell).
            just = timezone.now() - timedelta(seconds=0.15)
            running = list(parts.filter(status=JobStatus.RUNNING, worker__contains=":", started_at__gt=just))
            if parts.filter(status=JobStatus.DONE).exists() and running:
                break
            time.sleep(0.02)
        finished = dict(parts.filter(status=JobStatus.DONE).values_list("pk", "attempt"))
        pid = int(running[0].worker.rsplit(":", 1)[1])
        [victim] = [worker for worker in workers if pid in worker.children()]
        victim.kill()  # with its part, and the messages it had taken ahead
        time.sleep(STALE_SECONDS + 1)
        deadline = time.monotonic() + 180
        while run.status not in {JobStatus.DONE, JobStatus.FAILED}:
            assert time.monotonic() < deadline, f"{run.status}, parts {list(parts.values_list('status', flat=True))}"
            # What the beat's sweeper does every minute, once the lost
            # messages are old enough to count as lost.
            jobs.jobs_requeue_stale(now=timezone.now() + jobs.REQUEUE_AFTER + timedelta(seconds=1))
            time.sleep(1)
            run.refresh_from_db()
    finally:
        for worker in workers:
            worker.stop()
        celery_worker.start()
    parts = list(AnalysisPart.objects.filter(run=run).order_by("number"))
    assert run.parts_count == len(parts) >= 8 and all(part.status == JobStatus.DONE for part in parts)
    # The killed worker's part was taken over; what was done stayed done.
    assert [part.attempt for part in parts if part.pk == running[0].pk] == [2]
    assert {part.pk: part.attempt for part in parts if part.pk in finished} == finished
    # Every document once, numbered in the corpus, fingerprinted once.
    _complete_and_correct(run, expected)
    assert [row["line"] for row in sorted(shard_rows(run), key=lambda r: r["doc_index"])] == list(
        range(1, expected + 1))


def test_the_operations_page_shows_what_each_worker_runs(member, celery_worker):
    from contributions import operations

    corpus = make_corpus(member)
    add_file(corpus, "big.jsonl", big_jsonl(12, seed=4))
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    wait_for_run(run.id, lambda r: r.status == JobStatus.RUNNING and r.documents_done > 0)
    ops = operations.operations_overview(inspect_timeout=2)
    [worker] = [w for w in ops.workers if w.name == celery_worker.name]
    [line] = worker.jobs
    assert line.job.pk == run.id and line.kind.name == "analysis" and 0 < line.job.percent < 100
    wait_for_run(run.id, lambda r: r.status == JobStatus.DONE)


# ---------------------------------------------------------------- review


def test_approval_builds_the_training_version_and_emails_go_through_the_worker(member, maintainer, celery_worker):
    from contributions import review
    from contributions.models import TrainingVersion

    corpus = make_corpus(member)
    add_file(corpus, "a.jsonl", jsonl(FRENCH[0] + " Écrire à jeanne@exemple.fr.", FRENCH[1]))
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    wait_for_run(run.id, lambda r: r.status == JobStatus.DONE)
    corpus.refresh_from_db()
    review.review_decide(corpus=corpus, reviewer=maintainer, decision="approve", comment="Très bien.")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        corpus.refresh_from_db()
        if corpus.status == CorpusStatus.QUEUED_FOR_TRAINING:
            break
        time.sleep(0.2)
    assert corpus.status == CorpusStatus.QUEUED_FOR_TRAINING
    version = TrainingVersion.objects.get(corpus=corpus)
    assert version.status == JobStatus.DONE and version.documents == 2
    [mail] = celery_worker.wait_for_mail(member.email)
    assert corpus.title in mail["Subject"]
    assert "Très bien." in celery_worker.text(mail)
