"""A Redis restart costs nothing: the worker lives through it, the analysis
it was running ends once and completely, new work is taken, web requests
are not held, and `make run` brings back a worker that died anyway.

Each test has a redis-server of its own (tests/conftest.py ``redis_server``),
and this process's Celery app is pointed at it too (``celery_broker``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
from django.urls import reverse

from contributions import jobs, submissions
from contributions.models import AnalysisRun, Corpus, CorpusStatus, JobStatus

from .conftest import ROOT, STALE_SECONDS, Worker, celery_app, celery_broker, child_env
from .corpora import FRENCH, add_file, jsonl, make_corpus

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def generated_jsonl(size_mb: float, seed: int) -> bytes:
    from bench.corpusgen import documents

    return jsonl(*documents(int(size_mb * 1e6), seed=seed))


def wait_for(predicate: Callable[[], object], timeout: float, failure: Callable[[], str]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(failure())


def answers(name: str | None = None) -> list[dict]:
    """Ping replies, [] while the broker (or this process's connection to it) is down."""
    try:
        return celery_app.control.ping(destination=[name] if name else None, timeout=0.5)
    except Exception:  # noqa: BLE001 - a dead pooled connection, Redis not back yet: ask again
        return []


@pytest.fixture
def broker(redis_server):
    with celery_broker(redis_server.url):
        yield redis_server


@pytest.fixture
def worker(broker, settings, tmp_path) -> Iterator[Worker]:
    settings.JOB_STALE_SECONDS = STALE_SECONDS
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    env = child_env(
        CELERY_BROKER_URL=broker.url,
        JOB_STALE_SECONDS=str(STALE_SECONDS),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(outbox),
    )
    env.pop("EMAIL_HOST", None)
    # Two processes, as in production (README: --concurrency 4): while one
    # runs a task the worker waits for the next message, and that pending
    # BRPOP is what made kombu's Redis transport kill the worker.
    worker = Worker(env, outbox, tmp_path / "worker.log", concurrency=2)
    worker.start()
    yield worker
    worker.stop()


def wait_for_analysis(run_id: int, worker: Worker, timeout: float = 120) -> AnalysisRun:
    """Until the analysis ends, doing what the beat does (here every few
    seconds instead of every minute)."""
    deadline, next_sweep = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline:
        run = AnalysisRun.objects.get(id=run_id)
        if run.status in {JobStatus.DONE, JobStatus.FAILED}:
            return run
        if time.monotonic() > next_sweep:
            jobs.jobs_requeue_stale()
            next_sweep = time.monotonic() + STALE_SECONDS + 1
        time.sleep(0.2)
    raise AssertionError(
        f"run {run_id}: {run.status}, {run.documents_done} documents; worker "
        f"{'alive' if worker.process.poll() is None else 'dead'}, log:\n{worker.log.read_text()[-4000:]}"
    )


def assert_analysed(run: AnalysisRun, documents: int) -> None:
    assert run.status == JobStatus.DONE, run.error
    assert run.report["documents"] == documents
    assert run.documents_done == documents
    assert Corpus.objects.get(id=run.corpus_id).status == CorpusStatus.AWAITING_REVIEW


def test_a_redis_restart_during_an_analysis_kills_neither_the_worker_nor_the_analysis(member, broker, worker):
    content = generated_jsonl(16, seed=7)
    expected = content.count(b"\n")
    corpus = make_corpus(member)
    add_file(corpus, "big.jsonl", content)
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    wait_for(
        lambda: AnalysisRun.objects.filter(id=run.id, status=JobStatus.RUNNING, documents_done__gt=0).exists(),
        60,
        lambda: f"the analysis did not start:\n{worker.log.read_text()[-3000:]}",
    )

    broker.stop()  # everything in Redis is lost, the unacknowledged message too
    assert AnalysisRun.objects.get(id=run.id).status == JobStatus.RUNNING, "the corpus is too small for this test"
    time.sleep(1)
    broker.start()

    run = wait_for_analysis(run.id, worker)
    assert_analysed(run, expected)
    log = worker.log.read_text()
    assert "Connection to broker lost" in log  # the worker did see Redis go
    assert "Unrecoverable error" not in log, log[-4000:]
    assert worker.process.poll() is None, log[-4000:]

    # And it takes new work.
    corpus = make_corpus(member)
    add_file(corpus, "a.jsonl", jsonl(*FRENCH))
    assert_analysed(wait_for_analysis(submissions.corpus_submit(corpus=corpus, actor=member).id, worker), 3)


def test_an_idle_worker_takes_new_work_after_a_redis_restart(member, broker, worker):
    broker.stop()
    time.sleep(1)
    broker.start()
    # Once it is back on Redis it has declared its queue again; a message
    # sent before that would have nowhere to go (the sweeper sends it again).
    wait_for(lambda: answers(worker.name), 60, lambda: f"no reply from the worker:\n{worker.log.read_text()[-3000:]}")
    corpus = make_corpus(member)
    add_file(corpus, "a.jsonl", jsonl(*FRENCH))
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    assert_analysed(wait_for_analysis(run.id, worker), 3)
    assert worker.process.poll() is None


@contextmanager
def silent_server() -> Iterator[str]:
    """A "Redis" that accepts connections and never answers (a failover, a
    firewall dropping a connection): the URL to reach it."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail instead of hanging the suite."""

    def expire(*_args) -> None:
        raise AssertionError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("outage", ["stopped", "silent"])
def test_a_submission_during_a_broker_outage_is_neither_held_nor_an_error(client, member, broker, outage):
    corpus = make_corpus(member)
    add_file(corpus, "a.jsonl", jsonl(*FRENCH))
    client.force_login(member)
    with nullcontext() if outage == "stopped" else silent_server() as url:
        if outage == "stopped":
            broker.stop()
        with celery_broker(url or broker.url), time_limit(60):
            started = time.monotonic()
            response = client.post(reverse("contributions:corpus_submit", args=[corpus.pk]))
            elapsed = time.monotonic() - started
    assert response.status_code == 302
    # Connection refused is immediate; a silent broker costs the socket
    # timeout of each publishing attempt, well under a proxy's 30 s.
    assert elapsed < (3 if outage == "stopped" else 15), elapsed
    # The job is kept for the sweeper.
    assert AnalysisRun.objects.get(corpus=corpus).status == JobStatus.QUEUED
    assert Corpus.objects.get(id=corpus.id).status == CorpusStatus.SUBMITTED


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"celery" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_brings_back_a_dead_worker_and_ctrl_c_stops_everything(broker, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = child_env(CELERY_BROKER_URL=broker.url, VAR_DIR=str(tmp_path))
    log = tmp_path / "run_dev.log"
    # A process group of its own, like a terminal's foreground job.
    run_dev = subprocess.Popen(
        [sys.executable, "manage.py", "run_dev", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    groups = [run_dev.pid]
    try:
        [first] = wait_for(lambda: _children(run_dev.pid), 30, lambda: log.read_text()[-3000:])
        groups.append(first)
        wait_for(answers, 60, lambda: f"the worker did not start:\n{log.read_text()[-3000:]}")

        os.kill(first, signal.SIGKILL)
        [second] = wait_for(
            lambda: [pid for pid in _children(run_dev.pid) if pid != first], 30, lambda: log.read_text()[-3000:]
        )
        groups.append(second)
        wait_for(answers, 60, lambda: f"the worker did not come back:\n{log.read_text()[-3000:]}")
        assert f"pid {first}) exited with code -9" in log.read_text()
        # Nothing of the dead worker (its pool, its beat) lives on beside the new one.
        wait_for(lambda: not _group_alive(first), 10, lambda: f"processes of worker {first} are left")

        os.killpg(run_dev.pid, signal.SIGINT)  # Ctrl-C
        try:
            run_dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"Ctrl-C did not stop run_dev within 60 s:\n{log.read_text()[-3000:]}")
        assert not _group_alive(second), "Ctrl-C left the worker running"
        assert not _children(run_dev.pid)
    finally:
        for pgid in groups:
            if _group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        run_dev.wait()
