"""Celery tasks: thin wrappers that load fresh rows through the domain code.

Every task is safe to run twice: settings acknowledge late and give a task
back when its worker dies, so a message can arrive again.
"""

from __future__ import annotations

from celery import shared_task

from . import emails, jobs


@shared_task(name="contributions.tasks.deliver_email")
def deliver_email(email_id: int) -> None:
    emails.email_deliver(email_id=email_id)


@shared_task(name="contributions.tasks.requeue_stale")
def requeue_stale() -> None:
    jobs.jobs_requeue_stale()
