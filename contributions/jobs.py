"""Enqueueing Celery work so that no job is lost.

The database row is the job; the broker message only wakes a worker. A
message is sent after the transaction that wrote the row commits, and if the
broker is down or loses the message, the sweeper finds the row again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from celery import Task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import AnalysisRun, Job, JobStatus, OutgoingEmail, Release, TrainingVersion

logger = logging.getLogger(__name__)

# A queued row not picked up within this time gets a new message.
REQUEUE_AFTER = timedelta(minutes=2)
# A running row not finished within this time belongs to a dead worker.
RUNNING_TIMEOUT = timedelta(minutes=15)


def _send_again(task: Task, args: tuple, *, every: timedelta) -> bool:
    """Send a job's message again, at most once per ``every``: a job still
    waiting behind others is not worth a pile of duplicate messages."""
    if not cache.add(f"requeued:{task.name}:{args}", 1, timeout=int(every.total_seconds())):
        return False
    _send(task, args)
    return True


def _send(task: Task, args: tuple) -> None:
    try:
        task.apply_async(args=args)
    except Exception:  # noqa: BLE001 - the sweeper sends it again later
        logger.warning("Could not enqueue %s%r; the sweeper will retry", task.name, args, exc_info=True)


def job_claim(*, model: type[Job], job_id: int, **reset):
    """Take a job: a queued one, or a running one whose worker stopped
    beating. Returns the fresh row, None when there is nothing to do, or
    False when a live worker has it. ``reset`` fields are set on the claim."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ANALYSIS_STALE_SECONDS)
    claimed = model.objects.filter(id=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, attempt=F("attempt") + 1, heartbeat_at=now, **reset
    ) or model.objects.filter(id=job_id, status=JobStatus.RUNNING, heartbeat_at__lt=stale).update(
        attempt=F("attempt") + 1, heartbeat_at=now, **reset
    )
    if claimed:
        return model.objects.get(id=job_id)
    return False if model.objects.filter(id=job_id, status=JobStatus.RUNNING).exists() else None


def job_enqueue(*, task: Task, args: tuple) -> None:
    transaction.on_commit(partial(_send, task, args))


def jobs_requeue_stale(*, now=None) -> int:
    """Send again the messages of jobs that no worker finished in time."""
    from . import tasks

    now = now or timezone.now()
    OutgoingEmail.objects.filter(status=JobStatus.RUNNING, claimed_at__lt=now - RUNNING_TIMEOUT).update(
        status=JobStatus.QUEUED
    )
    stale = OutgoingEmail.objects.filter(status=JobStatus.QUEUED, created_at__lt=now - REQUEUE_AFTER).exclude(
        claimed_at__gte=now - REQUEUE_AFTER
    )
    ids = list(stale.values_list("id", flat=True)[:1000])
    for email_id in ids:
        _send(tasks.deliver_email, (email_id,))

    # Jobs with a row of their own: queued ones whose message may be lost,
    # and running ones whose worker stopped beating (the claim takes those over).
    stale_running = timedelta(seconds=settings.ANALYSIS_STALE_SECONDS)
    sent = 0
    for model, task in (
        (AnalysisRun, tasks.analyse_corpus),
        (TrainingVersion, tasks.build_training_version),
        (Release, tasks.build_release),
    ):
        for job_id in model.objects.filter(
            Q(status=JobStatus.QUEUED, created_at__lt=now - REQUEUE_AFTER)
            | Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - stale_running)
        ).values_list("id", flat=True)[:1000]:
            sent += _send_again(task, (job_id,), every=stale_running)
    return len(ids) + sent
