"""Outgoing email: written to the database, delivered by a worker as a job."""

from __future__ import annotations

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils.translation import gettext_lazy

from . import jobs
from .models import OutgoingEmail


def email_queue(*, message: EmailMessage) -> list[OutgoingEmail]:
    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    rows = []
    for recipient in message.to:
        row = OutgoingEmail.objects.create(
            to=recipient,
            subject=message.subject[:255],
            body_text=str(message.body),
            body_html=html,
            from_email=message.from_email,
        )
        jobs.job_enqueue(row)
        rows.append(row)
    return rows


def email_deliver(email: OutgoingEmail, context: jobs.JobContext) -> jobs.Done[OutgoingEmail]:
    message = EmailMultiAlternatives(email.subject, email.body_text, email.from_email, [email.to])
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    message.send()
    # The bodies carry one-time links (confirmation, password reset): once
    # delivered they have nothing more to do in the database.
    return jobs.Done(fields={"body_text": "", "body_html": ""})


jobs.register(
    jobs.JobKind(
        name="email",
        label=gettext_lazy("Emails"),
        model=OutgoingEmail,
        task="contributions.tasks.deliver_email",
        run=email_deliver,
        # SMTP servers refuse for a while (greylisting, outages): try again
        # later, five times in all.
        max_attempts=5,
        retry=jobs.Retry.BACKOFF,
        describe=lambda email: email.subject,
    )
)
