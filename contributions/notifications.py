"""Notifications in the site, and the emails that go with them (through the
worker, like every email)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .emails import email_queue
from .models import Comment, Corpus, CorpusStatus, Decision, Notification, User


def _url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def notify(*, users: list[User], corpus: Corpus | None, subject: str, message: str) -> None:
    """A notification in the site for each user, and the same by email."""
    for user in {u.pk: u for u in users if u is not None and u.is_active}.values():
        Notification.objects.create(user=user, corpus=corpus, message=message)
        body = render_to_string(
            "contributions/email/notification.txt",
            {"user": user, "message": message, "url": _url(reverse("contributions:corpus_detail", args=[corpus.pk]))
             if corpus else _url("/")},
        )
        email_queue(message=EmailMessage(f"[{settings.SITE_NAME}] {subject}", body, None, [user.email]))


def notify_decision(*, corpus: Corpus, reviewer: User, decision: str, comment: str, settled: bool) -> None:
    if corpus.submitter is None:
        return
    with translation.override(settings.LANGUAGE_CODE):
        label = Decision(decision).label
        if settled:
            status = CorpusStatus(corpus.status).label
            message = _("%(title)s: %(decision)s by a reviewer; the corpus is now “%(status)s”.") % {
                "title": corpus.title, "decision": label, "status": status}
        else:
            message = _("%(title)s: %(decision)s by a reviewer; more reviews are needed.") % {
                "title": corpus.title, "decision": label}
        if comment.strip():
            message += "\n\n" + comment.strip()
        notify(users=[corpus.submitter], corpus=corpus, subject=_("Review of %(title)s") % {"title": corpus.title},
               message=message)


def notify_comment(*, comment: Comment) -> None:
    corpus = comment.corpus
    reviewers = User.objects.filter(reviews__corpus=corpus).distinct()
    commenters = User.objects.filter(pk__in=Comment.objects.filter(corpus=corpus).values("author"))
    recipients = [u for u in [corpus.submitter, *reviewers, *commenters] if u and u.pk != comment.author_id]
    with translation.override(settings.LANGUAGE_CODE):
        notify(
            users=recipients, corpus=corpus, subject=_("New comment on %(title)s") % {"title": corpus.title},
            message=_("%(author)s wrote on %(title)s:") % {"author": comment.author_pseudonym, "title": corpus.title}
            + "\n\n" + comment.body,
        )


def review_digest_send() -> int:
    """Once a day: tell each reviewer (who has not opted out) how many
    corpora wait for review, not counting their own."""
    waiting = list(Corpus.objects.filter(status=CorpusStatus.AWAITING_REVIEW).values_list("submitter_id", flat=True))
    if not waiting:
        return 0
    sent = 0
    reviewers = User.objects.filter(
        Q(role="reviewer") | Q(role="maintainer"), is_active=True, review_digest=True
    )
    for reviewer in reviewers:
        count = sum(1 for submitter in waiting if submitter != reviewer.pk)
        if not count:
            continue
        with translation.override(settings.LANGUAGE_CODE):
            body = render_to_string(
                "contributions/email/digest.txt",
                {"user": reviewer, "count": count, "url": _url(reverse("contributions:review_queue")),
                 "profile_url": _url(reverse("contributions:profile"))},
            )
            subject = _("%(count)s corpora wait for review") % {"count": count}
        email_queue(message=EmailMessage(f"[{settings.SITE_NAME}] {subject}", body, None, [reviewer.email]))
        sent += 1
    return sent


def notifications_mark_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
