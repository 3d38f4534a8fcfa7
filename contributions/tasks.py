"""Celery tasks: one line each. The job runner (contributions.jobs) claims the
row, runs the work its kind declares and applies the same rules to every
kind; domain code sends these by name, never by importing this module.

Settings acknowledge late and give a task back when its worker dies, so a
message can arrive twice: the claim makes the second one do nothing.
"""

from __future__ import annotations

from celery import shared_task

from . import jobs, notifications, resumable


@shared_task(name="contributions.tasks.analyse_corpus")
def analyse_corpus(run_id: int) -> None:
    jobs.job_run("analysis", run_id)


@shared_task(name="contributions.tasks.analyse_part")
def analyse_part(part_id: int) -> None:
    jobs.job_run("analysis_part", part_id)


@shared_task(name="contributions.tasks.build_training_version")
def build_training_version(version_id: int) -> None:
    jobs.job_run("training", version_id)


@shared_task(name="contributions.tasks.build_release")
def build_release(release_id: int) -> None:
    jobs.job_run("release", release_id)


@shared_task(name="contributions.tasks.deliver_email")
def deliver_email(email_id: int) -> None:
    jobs.job_run("email", email_id)


@shared_task(name="contributions.tasks.search_removal")
def search_removal(search_id: int) -> None:
    jobs.job_run("removal_search", search_id)


@shared_task(name="contributions.tasks.requeue_stale")
def requeue_stale() -> None:
    jobs.jobs_requeue_stale()


@shared_task(name="contributions.tasks.send_review_digest")
def send_review_digest() -> None:
    notifications.review_digest_send()


@shared_task(name="contributions.tasks.cleanup_resumable_uploads")
def cleanup_resumable_uploads() -> None:
    resumable.uploads_cleanup()
