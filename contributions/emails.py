"""Outgoing email: written to the database, delivered by the worker."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db.models import F
from django.utils import timezone

from .jobs import job_enqueue
from .models import JobStatus, OutgoingEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def email_queue(*, message: EmailMessage) -> list[OutgoingEmail]:
    from . import tasks

    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    rows = [
        OutgoingEmail.objects.create(
            to=recipient,
            subject=message.subject[:255],
            body_text=message.body,
            body_html=html,
            from_email=message.from_email,
        )
        for recipient in message.to
    ]
    for row in rows:
        job_enqueue(task=tasks.deliver_email, args=(row.id,))
    return rows


def email_deliver(*, email_id: int) -> bool:
    """Send one queued email. Returns False when another worker has it or it
    was already sent, which makes a redelivered message harmless."""
    claimed = OutgoingEmail.objects.filter(id=email_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    row = OutgoingEmail.objects.get(id=email_id)
    message = EmailMultiAlternatives(row.subject, row.body_text, row.from_email, [row.to])
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any transport error is kept on the row
        logger.warning("Email %s failed: %s", email_id, exc)
        row.status = JobStatus.FAILED if row.attempts >= MAX_ATTEMPTS else JobStatus.QUEUED
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        row.save(update_fields=["status", "error"])
        return False
    # The bodies carry one-time links (confirmation, password reset): once
    # delivered they have nothing more to do in the database.
    row.status = JobStatus.DONE
    row.sent_at = timezone.now()
    row.body_text = ""
    row.body_html = ""
    row.error = ""
    row.save(update_fields=["status", "sent_at", "body_text", "body_html", "error"])
    return True
