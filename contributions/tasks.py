"""Celery tasks: thin wrappers that load fresh rows through the domain code.

Every task is safe to run twice: settings acknowledge late and give a task
back when its worker dies, so a message can arrive again; the domain code
claims its row with a conditional update before doing anything.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import emails, jobs, notifications, releases, training
from .analysis import pipeline


@shared_task(name="contributions.tasks.deliver_email")
def deliver_email(email_id: int) -> None:
    emails.email_deliver(email_id=email_id)


@shared_task(name="contributions.tasks.analyse_corpus", bind=True, max_retries=20)
def analyse_corpus(self, run_id: int) -> None:
    if not pipeline.analysis_execute(run_id=run_id):
        # A worker is on it and beating. Look again once it would count as
        # gone: if it died, this message is what takes the run over.
        raise self.retry(countdown=settings.ANALYSIS_STALE_SECONDS)


@shared_task(name="contributions.tasks.requeue_stale")
def requeue_stale() -> None:
    jobs.jobs_requeue_stale()


@shared_task(name="contributions.tasks.build_training_version")
def build_training_version(version_id: int) -> None:
    training.training_build(version_id=version_id)


@shared_task(name="contributions.tasks.send_review_digest")
def send_review_digest() -> None:
    notifications.review_digest_send()


@shared_task(name="contributions.tasks.build_release")
def build_release(release_id: int) -> None:
    releases.release_build(release_id=release_id)
