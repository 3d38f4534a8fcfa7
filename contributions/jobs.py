"""The job runner: one set of rules for every piece of background work.

The database row is the job; a broker message only wakes a worker. Each kind
of job (analysis, training-ready version, release, email, removal search)
declares once, with ``register``, its model, its Celery task, its storage
folder, its attempt cap and what an exception means. ``job_run`` does the
rest for all of them:

- claims the row with a conditional update (a queued row, or a running one
  whose worker stopped beating), so a message delivered twice does the
  work once;
- fails the job with its reason once it was claimed more often than the cap
  allows (a job that kills its worker is not retried forever);
- owns the attempt's storage folder and temporary folder, and removes those
  of earlier, abandoned attempts;
- gives the work a heartbeat that raises ``JobLost`` once the claim is lost
  (taken over or cancelled), so nothing is written after;
- finishes with a checked update in one transaction with what the kind does
  on success, and applies the kind's policy on failure.

Domain code writes a row and calls ``job_enqueue``; the message is sent by
task name after the transaction commits, so no domain module imports the
tasks. The beat's sweeper (``jobs_requeue_stale``) walks the registry and
sends again what a lost message or a dead worker left behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from functools import partial
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from openllm_site.celery import app as celery_app

from . import lifecycle
from .models import Job, JobStatus
from .texts import Message, message, message_dump

logger = logging.getLogger(__name__)

# A queued job whose message was not taken within this time gets a new one
# (the broker lost it, or the row was written while the broker was down).
REQUEUE_AFTER = timedelta(minutes=2)
# The heartbeat is written at most this often.
BEAT_EVERY = 1.0

J = TypeVar("J", bound=Job)


class Retry(Enum):
    """What an unexpected exception in the work means."""

    # Fail at once: the error is most likely the input's, and trying again
    # would cost the same long work for the same end (analyses, releases).
    NEVER = "never"
    # Queue again after a growing delay, until the attempt cap: the error is
    # most likely passing (storage, SMTP, database).
    BACKOFF = "backoff"


class JobLost(Exception):
    """The claim is gone (another worker took the job over, or it was
    cancelled): stop, and write nothing more."""


class JobFailed(Exception):
    """The job cannot succeed, whatever the number of tries: it fails at
    once with this message, and ``fields`` are saved on the row with it.
    A ``Message`` (contributions.texts) is kept as its code, and read in
    the reader's language; a string is kept as it is."""

    def __init__(self, reason: str | Message, **fields: Any) -> None:
        self.message = message_dump(reason)
        super().__init__(self.message)
        self.fields = fields


class JobParked(Exception):
    """The job waits for others (the parts of a split analysis): it goes
    back to the queue, not due before ``seconds`` unless those wake it
    (``job_wake``), with a fresh set of attempts: waiting is not failing."""

    def __init__(self, seconds: float, then: Callable[[], object] | None = None) -> None:
        super().__init__(seconds)
        # Called in the transaction that parks the job (what it waits for is
        # created there, and so never seen without the job parked).
        self.seconds, self.then = seconds, then


@dataclass(slots=True)
class Done(Generic[J]):
    """What a finished job writes on its row, and what else happens in the
    same transaction (``then``, called with the refreshed row)."""

    fields: dict[str, Any] = field(default_factory=dict)
    then: Callable[[J], object] | None = None


@dataclass(frozen=True, slots=True)
class JobKind(Generic[J]):
    name: str
    label: str | Promise  # for people: "Analyses" (lazily translated)
    model: type[J]
    task: str
    run: Callable[[J, JobContext], Done[J]]
    max_attempts: int
    retry: Retry
    # Storage folder of the kind's files; None for jobs that keep none.
    folder: str | None = None
    # Called in the transaction that fails or cancels the job, with the
    # reason (the corpus of a failed analysis fails too, say).
    on_failure: Callable[[J, str], None] | None = None
    # Called when a maintainer retries a failed or cancelled job; raises
    # ValidationError when it makes no sense any more.
    on_retry: Callable[[J], None] | None = None
    # Removes what the job left in the database outside its row (the
    # fingerprints of a failed analysis, say); files are the runner's.
    cleanup: Callable[[J], None] | None = None
    # What the operations page says the job is about, and the relations that
    # needs (fetched with the rows, not one query a row).
    describe: Callable[[J], str] = str
    related: tuple[str, ...] = ()

    def storage_folder(self, job: Job) -> str | None:
        return f"{self.folder}/{job.pk}" if self.folder else None


REGISTRY: dict[str, JobKind[Any]] = {}


def _objects(model: type[J]) -> QuerySet[J]:
    # The kind's model, whatever it is (Job itself is abstract).
    return model._default_manager.all()


def register(kind: JobKind[J]) -> JobKind[J]:
    if kind.name in REGISTRY and REGISTRY[kind.name] is not kind:
        raise ValueError(f"job kind {kind.name!r} registered twice")
    REGISTRY[kind.name] = kind
    return kind


def kind_of(job: Job | type[Job]) -> JobKind[Any]:
    model = job if isinstance(job, type) else type(job)
    for kind in REGISTRY.values():
        if kind.model is model:
            return kind
    raise LookupError(f"no job kind for {model.__name__}")


# ---------------------------------------------------------------- sending


def _send(kind: JobKind[Any], job_id: int, countdown: float | None = None) -> None:
    try:
        celery_app.send_task(kind.task, args=(job_id,), countdown=countdown)
    except Exception:  # noqa: BLE001 - the row stays queued: the sweeper sends it again
        logger.warning("Could not send %s %s; the sweeper will", kind.name, job_id, exc_info=True)


def _send_once(kind: JobKind[Any], job_id: int, *, every: float, countdown: float | None = None) -> bool:
    """Send a job's message, at most once per ``every`` seconds: a job still
    waiting behind others is not worth a pile of duplicate messages."""
    if not cache.add(f"job-sent:{kind.name}:{job_id}", 1, timeout=max(1, int(every))):
        return False
    _send(kind, job_id, countdown)
    return True


def job_enqueue(job: Job) -> None:
    """Wake a worker for a queued row, once the transaction that wrote the
    row commits (a worker must find it)."""
    transaction.on_commit(partial(_send, kind_of(job), job.pk))


# ---------------------------------------------------------------- running


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def stale_delay() -> timedelta:
    return timedelta(seconds=settings.JOB_STALE_SECONDS)


class JobContext:
    """What the work of one attempt gets from the runner: its storage
    prefix, its temporary folder and the heartbeat."""

    def __init__(self, kind: JobKind[Any], job: Job, workdir: Path) -> None:
        self.kind, self.job, self.workdir = kind, job, workdir
        folder = kind.storage_folder(job)
        self.prefix = f"{folder}/attempt-{job.attempt}" if folder else ""
        self.saved_bytes = 0
        self._last_beat = 0.0
        self._deadline: float | None = None
        self._budget_message: str | Message = ""

    def held(self) -> QuerySet[Job]:
        """The job's row, as long as this attempt holds it."""
        return _objects(type(self.job)).filter(pk=self.job.pk, attempt=self.job.attempt, status=JobStatus.RUNNING)

    def beat(self, *, force: bool = False, **fields: Any) -> None:
        """Say the worker is alive, with its progress (``progress_done``,
        ``progress_total`` or fields of the kind). Raises JobLost once the
        claim is gone, and JobFailed once a time budget is spent."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise JobFailed(self._budget_message)
        now = time.monotonic()
        if not force and now - self._last_beat < BEAT_EVERY:
            return
        if not self.held().update(heartbeat_at=timezone.now(), **fields):
            raise JobLost
        self._last_beat = now

    @contextmanager
    def fenced(self) -> Iterator[None]:
        """Writes to other tables that must not land once the claim is lost:
        they go in one transaction with a check of the claim, which holds
        the row's lock until they commit (a takeover waits for them, then
        starts afresh). Raises JobLost."""
        with transaction.atomic():
            if not self.held().update(heartbeat_at=timezone.now()):
                raise JobLost
            yield

    @contextmanager
    def budget(self, seconds: float, reason: str | Message) -> Iterator[None]:
        """A part of the work that must end within ``seconds``: past that,
        the next beat fails the job with ``reason``."""
        self._deadline, self._budget_message = time.monotonic() + seconds, reason
        try:
            yield
        finally:
            self._deadline = None

    def save(self, name: str, content: IO[bytes]) -> str:
        """Keep a file of this attempt in storage; returns its name."""
        if not self.prefix:
            raise RuntimeError(f"job kind {self.kind.name} keeps no files")
        file = File(content)
        self.saved_bytes += file.size  # known here: no second trip to the storage
        return default_storage.save(f"{self.prefix}/{name}", file)

    def save_path(self, name: str, path: Path) -> str:
        with path.open("rb") as handle:
            return self.save(name, handle)


class Outcome(Enum):
    DONE = "done"
    FAILED = "failed"
    REQUEUED = "requeued"
    PARKED = "parked"
    LOST = "lost"
    BUSY = "busy"  # a live worker has it
    NOTHING = "nothing"  # finished, cancelled, not due yet or gone


def job_claim(kind: JobKind[J], job_id: int) -> J | Outcome:
    """Take a job: a queued one that is due, or a running one whose worker
    stopped beating. Returns the fresh row, or why there is nothing to do."""
    model = kind.model
    now = timezone.now()
    claim = {"status": JobStatus.RUNNING, "attempt": F("attempt") + 1, "heartbeat_at": now, "started_at": now,
             "worker": worker_name(), "progress_done": 0, "finished_at": None}
    rows = _objects(model).filter(pk=job_id)
    claimed = rows.filter(status=JobStatus.QUEUED, run_after__lte=now).update(**claim) or (
        rows.filter(status=JobStatus.RUNNING, heartbeat_at__lt=now - stale_delay()).update(**claim)
    )
    if claimed:
        return _objects(model).get(pk=job_id)
    row = _objects(model).filter(pk=job_id).values("status", "run_after", "heartbeat_at").first()
    if row is None:
        return Outcome.NOTHING
    if row["status"] == JobStatus.RUNNING:
        # Look again once it would count as gone: if its worker died, this
        # is what takes it over (sooner than the sweeper).
        wait = (row["heartbeat_at"] + stale_delay() - now).total_seconds() + 1 if row["heartbeat_at"] else 1
        _send_once(kind, job_id, every=wait, countdown=max(1.0, wait))
        return Outcome.BUSY
    if row["status"] == JobStatus.QUEUED:
        wait = (row["run_after"] - now).total_seconds()
        _send_once(kind, job_id, every=wait, countdown=max(1.0, wait))
    return Outcome.NOTHING


def job_run(kind_name: str, job_id: int) -> Outcome:
    """Run one job of the kind: the only way any background work runs."""
    kind = REGISTRY[kind_name]
    job = job_claim(kind, job_id)
    if isinstance(job, Outcome):
        return job
    _remove_orphan_workdirs()
    if job.attempt - job.attempt_base > kind.max_attempts:
        return _fail(kind, job, message_dump(message("job.stopped", count=kind.max_attempts)), final=True)
    workdir = _workdir(kind, job)
    workdir.mkdir(parents=True, exist_ok=True)
    context = JobContext(kind, job, workdir)
    try:
        done = kind.run(job, context)
        _finish(kind, job, context, done)
    except JobLost:
        logger.info("%s %s attempt %s lost its claim; stopping", kind.name, job.pk, job.attempt)
        _remove_attempt(kind, job)
        if not _objects(type(job)).filter(pk=job.pk, status=JobStatus.RUNNING).exists() and kind.cleanup:
            kind.cleanup(job)  # cancelled: what this attempt wrote goes too
        return Outcome.LOST
    except JobFailed as exc:
        return _fail(kind, job, exc.message, final=True, **exc.fields)
    except JobParked as exc:
        with transaction.atomic():
            parked = context.held().update(
                status=JobStatus.QUEUED, run_after=timezone.now() + timedelta(seconds=exc.seconds),
                attempt_base=F("attempt"),
            )
            if parked and exc.then:
                exc.then()
        return Outcome.PARKED if parked else Outcome.LOST
    except Exception as exc:
        logger.exception("%s %s attempt %s failed", kind.name, job.pk, job.attempt)
        final = kind.retry is Retry.NEVER or job.attempt - job.attempt_base >= kind.max_attempts
        # The details are for maintainers (on the row); people concerned by
        # the job (a submitter) read only that it broke.
        reason = message_dump(message("job.internal_error", detail=type(exc).__name__))
        return _fail(kind, job, f"{type(exc).__name__}: {exc}", reason=reason, final=final)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Outcome.DONE


def job_run_here(kind_name: str, job_id: int, *, timeout: float = 600) -> Job:
    """Run a job in this process and return its row once it has ended, or
    after ``timeout`` seconds (the demo data, the tests). Its task was sent
    on commit too: a worker that took it first is waited for."""
    model = REGISTRY[kind_name].model
    deadline = time.monotonic() + timeout
    while True:
        job_run(kind_name, job_id)
        row = _objects(model).get(pk=job_id)
        if row.status not in (JobStatus.QUEUED, JobStatus.RUNNING) or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


def _finish(kind: JobKind[J], job: J, context: JobContext, done: Done[J]) -> None:
    with transaction.atomic():
        updated = context.held().update(
            status=JobStatus.DONE, finished_at=timezone.now(), error="", storage_bytes=context.saved_bytes,
            progress_done=F("progress_total"), **done.fields,
        )
        if not updated:
            raise JobLost
        if done.then:
            done.then(_objects(type(job)).get(pk=job.pk))
    # What the workers of earlier, abandoned attempts left.
    _remove_earlier_attempts(kind, job)


def _fail(kind: JobKind[J], job: J, message: str, *, final: bool, reason: str = "", **fields: Any) -> Outcome:
    """``message`` stays on the row; the kind's ``on_failure`` gets
    ``reason`` when given (what may be shown beyond maintainers)."""
    rows = _objects(type(job)).filter(pk=job.pk, attempt=job.attempt, status=JobStatus.RUNNING)
    if final:
        with transaction.atomic():
            if not rows.update(status=JobStatus.FAILED, error=message[:5000], finished_at=timezone.now(), **fields):
                return Outcome.LOST
            if kind.on_failure:
                kind.on_failure(job, reason or message)
        _remove_all(kind, job)
        return Outcome.FAILED
    delay = min(3600, 30 * 2 ** (job.attempt - job.attempt_base - 1))
    if not rows.update(status=JobStatus.QUEUED, error=message[:5000], run_after=timezone.now() + timedelta(
            seconds=delay)):
        return Outcome.LOST
    _remove_attempt(kind, job)
    _send(kind, job.pk, countdown=delay)
    return Outcome.REQUEUED


# ---------------------------------------------------------------- steering


def job_wake(job: Job) -> None:
    """Make a queued job due now (a parked one whose wait is over), and send
    its message once the transaction commits."""
    if _objects(type(job)).filter(pk=job.pk, status=JobStatus.QUEUED).update(run_after=timezone.now()):
        job_enqueue(job)


def job_cancel(job: Job, *, reason: str, settle: bool = True) -> bool:
    """Stop a queued or running job for good. A worker running it stops at
    its next heartbeat. ``settle=False`` when the caller deals with the
    consequences itself (files changed: the corpus goes back to draft), so
    the kind's ``on_failure`` is not called. Returns False when the job had
    already ended."""
    kind = kind_of(job)
    with transaction.atomic():
        cancelled = _objects(type(job)).filter(pk=job.pk, status__in=lifecycle.JOB_ACTIVE).update(
            status=JobStatus.CANCELLED, error=reason[:5000], finished_at=timezone.now()
        )
        if cancelled and settle and kind.on_failure:
            kind.on_failure(job, reason)
    if cancelled:
        transaction.on_commit(partial(_remove_all, kind, job))
    return bool(cancelled)


def job_retry(job: Job) -> None:
    """Queue a failed or cancelled job again, with a fresh set of attempts."""
    kind = kind_of(job)
    with transaction.atomic():
        job = _objects(type(job)).select_for_update().get(pk=job.pk)
        if not lifecycle.job_can_retry(job):
            raise ValidationError(_("Only a failed or cancelled job can be tried again."))
        if kind.on_retry:
            kind.on_retry(job)
        _objects(type(job)).filter(pk=job.pk).update(
            status=JobStatus.QUEUED, attempt_base=job.attempt, run_after=timezone.now(), finished_at=None,
            progress_done=0,
        )
        job_enqueue(job)


def jobs_requeue_stale(*, now=None) -> int:
    """The beat's sweeper: send again the messages of queued jobs that no
    worker took (a lost message), and of running jobs whose worker stopped
    beating (the claim takes those over)."""
    now = now or timezone.now()
    stale = stale_delay()
    sent = 0
    for kind in REGISTRY.values():
        due = _objects(kind.model).filter(
            Q(status=JobStatus.QUEUED, run_after__lt=now - REQUEUE_AFTER)
            | Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - stale)
        )
        for job_id in due.values_list("pk", flat=True)[:1000]:
            sent += _send_once(kind, job_id, every=stale.total_seconds())
    return sent


# ---------------------------------------------------------------- files


def _workdir(kind: JobKind[Any], job: Job) -> Path:
    return Path(settings.JOB_WORK_DIR) / f"{kind.name}-{job.pk}-attempt-{job.attempt}"


def _remove_orphan_workdirs() -> None:
    """Temporary folders of attempts that are over on this machine (their
    worker was killed before it could remove them)."""
    root = Path(settings.JOB_WORK_DIR)
    if not root.is_dir():
        return
    for path in root.iterdir():
        name, _sep, rest = path.name.partition("-")
        job_id, _sep, attempt = rest.partition("-attempt-")
        kind = REGISTRY.get(name)
        if kind is None or not (job_id.isdigit() and attempt.isdigit()):
            continue
        if not _objects(kind.model).filter(pk=int(job_id), attempt=int(attempt), status=JobStatus.RUNNING).exists():
            shutil.rmtree(path, ignore_errors=True)


def _remove_attempt(kind: JobKind[Any], job: Job) -> None:
    folder = kind.storage_folder(job)
    if folder:
        delete_prefix(f"{folder}/attempt-{job.attempt}")


def _remove_earlier_attempts(kind: JobKind[Any], job: Job) -> None:
    folder = kind.storage_folder(job)
    if not folder:
        return
    try:
        attempts = default_storage.listdir(folder)[0]
    except (FileNotFoundError, NotADirectoryError, OSError):
        return
    for name in attempts:
        # Other folders of the job are kept by no attempt in particular (the
        # merged shards of a split analysis, written by many workers).
        if name.startswith("attempt-") and name != f"attempt-{job.attempt}":
            delete_prefix(f"{folder}/{name}")


def _remove_all(kind: JobKind[Any], job: Job) -> None:
    folder = kind.storage_folder(job)
    if folder:
        delete_prefix(folder)
    if kind.cleanup:
        kind.cleanup(job)


def delete_prefix(prefix: str) -> None:
    """Remove a storage folder and everything under it."""
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    for directory in directories:
        delete_prefix(f"{prefix}/{directory}")
    try:
        local = default_storage.path(prefix)
    except NotImplementedError:  # S3 has no folders to remove
        return
    # The file system keeps empty folders.
    shutil.rmtree(local, ignore_errors=True)
