"""Notifications in the site, and the emails that go with them (through the
worker, like every email).

A notification is stored as a kind and its parameters, and put into words
when it is shown (``notification_text``), in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .emails import email_queue
from .models import AbuseReport as Report
from .models import (
    Comment,
    Corpus,
    CorpusStatus,
    Decision,
    Notification,
    Release,
    Role,
    User,
)

K = Notification.Kind


def site_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# What a reviewer did, as the notification says it: a whole sentence for
# each decision (the choices' labels are the buttons' verbs, and a verb put
# into a sentence cannot agree with it in every language).
DECISION_DONE = {
    Decision.APPROVE: gettext_lazy("A reviewer approved your corpus “%(title)s”."),
    Decision.REQUEST_CHANGES: gettext_lazy("A reviewer asked for changes to your corpus “%(title)s”."),
    Decision.REJECT: gettext_lazy("A reviewer rejected your corpus “%(title)s”."),
}


def notification_text(kind: str, params: dict[str, Any]) -> str:
    """The words of a notification, in the active language."""
    p = params
    if kind == K.DECISION:
        done = DECISION_DONE.get(p["decision"]) or gettext_lazy("A reviewer reviewed your corpus “%(title)s”.")
        text = str(done) % {"title": p["title"]} + " "
        if p.get("settled"):
            text += _("Its status is now “%(status)s”.") % {"status": _label(CorpusStatus, p["status"])}
        else:
            text += _("Other reviews are needed before the decision.")
        return f"{text}\n\n{p['comment']}" if p.get("comment") else text
    if kind == K.COMMENT:
        return _("%(author)s wrote on %(title)s:") % {"author": p["author"], "title": p["title"]} + "\n\n" + p["body"]
    if kind == K.RELEASED:
        return ngettext(
            "Your corpus %(title)s is in the release %(release)s: %(count)s document.",
            "Your corpus %(title)s is in the release %(release)s: %(count)s documents.",
            p["documents"],
        ) % {"title": p["title"], "release": p["release"], "count": number_format(p["documents"], force_grouping=True)}
    if kind == K.UNPUBLISHED:
        text = _("Your corpus %(title)s was unpublished by a maintainer after a report (%(reason)s).") % {
            "title": p["title"], "reason": _label(Report.Reason, p["reason"])}
        return f"{text}\n\n{p['comment']}" if p.get("comment") else text
    if kind == K.SUSPENDED:
        return _("Your account was suspended by a maintainer. Reason: %(reason)s") % {"reason": p["reason"]}
    if kind == K.REINSTATED:
        return _("The suspension of your account was lifted: you can sign in again.")
    if kind == K.ROLE_CHANGED:
        return _("Your role is now “%(role)s” (it was “%(old)s”).") % {
            "role": _label(Role, p["role"]), "old": _label(Role, p["old"])}
    if kind == K.REMOVAL_OUTCOME:
        if p["accepted"]:
            return ngettext(
                "Your removal request was accepted: %(count)s document will be left out of every later release.",
                "Your removal request was accepted: %(count)s documents will be left out of every later release.",
                p["documents"],
            ) % {"count": number_format(p["documents"], force_grouping=True)}
        return _("Your removal request was refused. The maintainers explain why by email.")
    return str(p.get("text", ""))


def notification_render(notification: Notification) -> str:
    if notification.kind == K.MESSAGE:
        return notification.message
    return notification_text(notification.kind, notification.params)


def _subject(kind: str, params: dict[str, Any]) -> str:
    subjects: dict[str, str] = {
        K.DECISION: _("Review of %(title)s"),
        K.COMMENT: _("New comment on %(title)s"),
        K.RELEASED: _("%(title)s is in the release %(release)s"),
        K.UNPUBLISHED: _("%(title)s was unpublished"),
        K.SUSPENDED: _("Your account is suspended"),
        K.REINSTATED: _("Your account is active again"),
        K.ROLE_CHANGED: _("Your role has changed"),
        K.REMOVAL_OUTCOME: _("Your removal request"),
    }
    return subjects.get(kind, settings.SITE_NAME) % params


def notify(
    *, users: Iterable[User | None], kind: str, params: dict[str, Any], corpus: Corpus | None = None,
    email: bool = True, suspended_too: bool = False,
) -> None:
    """A notification in the site for each user, and the same by email.
    Suspended members hear only of their own suspension (``suspended_too``)."""
    recipients = {u.pk: u for u in users if u is not None and (u.is_active or suspended_too)}
    for user in recipients.values():
        Notification.objects.create(user=user, corpus=corpus, kind=kind, params=params)
        if not email:
            continue
        # Emails go out in the member's language; the page shows the reader's.
        with translation.override(user.language or settings.LANGUAGE_CODE):
            path = reverse("contributions:corpus_detail", args=[corpus.pk]) if corpus else reverse(
                "contributions:notifications")
            body = render_to_string(
                "contributions/email/notification.txt",
                {"user": user, "message": notification_text(kind, params), "url": site_url(path)},
            )
            subject = f"[{settings.SITE_NAME}] {_subject(kind, params)}"
        email_queue(message=EmailMessage(subject, body, None, [user.email]))


def notify_decision(*, corpus: Corpus, reviewer: User, decision: str, comment: str, settled: bool) -> None:
    notify(users=[corpus.submitter], corpus=corpus, kind=K.DECISION, params={
        "title": corpus.title, "decision": decision, "status": corpus.status, "settled": settled,
        "comment": comment.strip()})


def notify_comment(*, comment: Comment) -> None:
    corpus = comment.corpus
    reviewers = User.objects.filter(reviews__corpus=corpus).distinct()
    commenters = User.objects.filter(pk__in=Comment.objects.filter(corpus=corpus).values("author"))
    recipients = [u for u in [corpus.submitter, *reviewers, *commenters] if u and u.pk != comment.author_id]
    notify(users=recipients, corpus=corpus, kind=K.COMMENT, params={
        "author": comment.author_pseudonym, "title": corpus.title, "body": comment.body})


def notify_released(*, release: Release, corpora: list[Corpus]) -> None:
    for corpus in corpora:
        documents = release.stats.get("corpora", {}).get(str(corpus.pk), {}).get("documents", 0)
        notify(users=[corpus.submitter], corpus=corpus, kind=K.RELEASED, params={
            "title": corpus.title, "release": release.version, "documents": documents})


def review_digest_send() -> int:
    """Once a day: tell each reviewer (who has not opted out) how many
    corpora wait for review, not counting their own."""
    waiting = list(Corpus.objects.filter(status=CorpusStatus.AWAITING_REVIEW).values_list("submitter_id", flat=True))
    if not waiting:
        return 0
    sent = 0
    reviewers = User.objects.filter(
        Q(role=Role.REVIEWER) | Q(role=Role.MAINTAINER), is_active=True, review_digest=True
    )
    for reviewer in reviewers:
        count = sum(1 for submitter in waiting if submitter != reviewer.pk)
        if not count:
            continue
        with translation.override(reviewer.language or settings.LANGUAGE_CODE):
            body = render_to_string(
                "contributions/email/digest.txt",
                {"user": reviewer, "count": count, "url": site_url(reverse("contributions:review_queue")),
                 "profile_url": site_url(reverse("contributions:profile"))},
            )
            subject = ngettext("%(count)s corpus waits for review", "%(count)s corpora wait for review", count) % {
                "count": count}
        email_queue(message=EmailMessage(f"[{settings.SITE_NAME}] {subject}", body, None, [reviewer.email]))
        sent += 1
    return sent


def notifications_mark_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
