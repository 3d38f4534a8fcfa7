"""What maintainers see of the background work: jobs by kind, the workers and
what each runs, failed jobs, the broker's queue and the storage used."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from openllm_site.celery import app as celery_app

from .jobs import REGISTRY, JobKind, kind_of
from .models import CorpusFile, Job, JobStatus

logger = logging.getLogger(__name__)

FAILED_SHOWN = 50
ASK_WORKERS_EVERY = 3  # seconds


@dataclass(slots=True)
class KindSummary:
    kind: JobKind[Any]
    queued: int
    running: int
    failed: int
    oldest_queued_seconds: int | None
    storage_bytes: int


@dataclass(slots=True)
class JobLine:
    kind: JobKind[Any]
    job: Job
    about: str

    @property
    def heartbeat_age(self) -> int | None:
        if self.job.heartbeat_at is None:
            return None
        return int((timezone.now() - self.job.heartbeat_at).total_seconds())

    @property
    def attempts(self) -> int:
        return self.job.attempt - self.job.attempt_base


@dataclass(slots=True)
class WorkerState:
    name: str
    jobs: list[JobLine] = field(default_factory=list)


@dataclass(slots=True)
class Overview:
    kinds: list[KindSummary]
    running: list[JobLine]
    queued: list[JobLine]
    failed: list[JobLine]
    workers: list[WorkerState] | None  # None: the broker did not answer
    unassigned: list[JobLine]  # running rows no live worker says it runs
    queue_length: int | None
    storage: dict[str, int]


def _line(job: Job) -> JobLine:
    kind = kind_of(job)
    return JobLine(kind, job, kind.describe(job))


def operations_overview(*, inspect_timeout: float = 1.0) -> Overview:
    now = timezone.now()
    kinds, running, queued, failed = [], [], [], []
    for kind in REGISTRY.values():
        rows = kind.model.objects.select_related(*kind.related)
        counts = rows.aggregate(
            queued=Count("id", filter=Q(status=JobStatus.QUEUED)),
            running=Count("id", filter=Q(status=JobStatus.RUNNING)),
            failed=Count("id", filter=Q(status=JobStatus.FAILED)),
            oldest=Min("run_after", filter=Q(status=JobStatus.QUEUED)),
            stored=Sum("storage_bytes", filter=Q(status=JobStatus.DONE)),
        )
        oldest = counts["oldest"]
        kinds.append(KindSummary(
            kind, counts["queued"], counts["running"], counts["failed"],
            max(0, int((now - oldest).total_seconds())) if oldest else None, counts["stored"] or 0,
        ))
        running += [_line(job) for job in rows.filter(status=JobStatus.RUNNING).order_by("started_at")[:100]]
        queued += [_line(job) for job in rows.filter(status=JobStatus.QUEUED).order_by("run_after")[:20]]
        failed += [_line(job) for job in rows.filter(status=JobStatus.FAILED).order_by("-finished_at")[:FAILED_SHOWN]]
    failed.sort(key=lambda line: line.job.finished_at or now, reverse=True)
    waiting = queue_length()
    # Asking the workers waits for their answers: not while the broker is
    # down, and once for every open page within a few seconds.
    active = None if waiting is None else cache.get_or_set(
        "operations:workers", lambda: _active_tasks(inspect_timeout), timeout=ASK_WORKERS_EVERY
    )
    workers, unassigned = _workers(running, active)
    storage = {"uploads": CorpusFile.objects.aggregate(total=Sum("size"))["total"] or 0}
    storage |= {summary.kind.name: summary.storage_bytes for summary in kinds if summary.kind.folder}
    return Overview(kinds, running, queued, failed[:FAILED_SHOWN], workers, unassigned, waiting, storage)


def _active_tasks(timeout: float) -> dict[str, list[tuple[str, int | None]]] | None:
    """Per live worker, the (task, job id) it is executing."""
    try:
        active = celery_app.control.inspect(timeout=timeout).active() or {}
    except Exception:  # noqa: BLE001 - the page says the broker is unreachable
        logger.warning("Could not ask the workers", exc_info=True)
        return None
    return {
        name: [(task.get("name", ""), (task.get("args") or [None])[0]) for task in tasks]
        for name, tasks in active.items()
    }


def _workers(
    running: list[JobLine], active: dict[str, list[tuple[str, int | None]]] | None
) -> tuple[list[WorkerState] | None, list[JobLine]]:
    """The live workers, each with the jobs it runs."""
    if active is None:
        return None, running
    by_task = {(line.kind.task, line.job.pk): line for line in running}
    workers = []
    for name in sorted(active):
        state = WorkerState(name)
        for task in active[name]:
            line = by_task.pop(task, None)
            if line is not None:
                state.jobs.append(line)
        workers.append(state)
    return workers, list(by_task.values())


def queue_length() -> int | None:
    """Messages waiting in the broker's queue of this site, or None when the
    broker does not answer."""
    queue = celery_app.conf.task_default_queue or settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        with celery_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            try:
                # Every kombu transport has it; the stubs know only the base class.
                declared = connection.default_channel.queue_declare(  # type: ignore[attr-defined]
                    queue=queue, passive=True
                )
                return declared.message_count
            except Exception:  # noqa: BLE001 - no such queue yet: nothing was ever sent
                return 0
    except Exception:  # noqa: BLE001
        logger.warning("Could not reach the broker", exc_info=True)
        return None
