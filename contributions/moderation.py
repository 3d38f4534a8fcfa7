"""Reports from members, handled by maintainers: unpublish, dismiss, suspend."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import accounts, lifecycle
from .models import AbuseReport, AccountEvent, Corpus, CorpusStatus, Notification, User
from .notifications import notify
from .texts import message


def abuse_report(*, reporter: User, corpus: Corpus, reason: str, comment: str = "", doc_index: int | None = None):
    if reason not in AbuseReport.Reason.values:
        raise ValidationError(_("Choose a reason."))
    return AbuseReport.objects.create(
        corpus=corpus, reporter=reporter, reason=reason, comment=comment.strip()[:5000], doc_index=doc_index
    )


@transaction.atomic
def abuse_resolve(*, report: AbuseReport, maintainer: User, action: str, comment: str = "") -> AbuseReport:
    """``unpublish`` withdraws the corpus (with the reason in its audit
    trail); ``dismiss`` closes the report."""
    if not maintainer.is_maintainer:
        raise PermissionDenied
    report = AbuseReport.objects.select_for_update().get(pk=report.pk)
    if report.status != AbuseReport.Status.OPEN:
        raise ValidationError(_("This report has already been handled."))
    if action == "unpublish":
        lifecycle.corpus_transition(
            corpus_id=report.corpus_id, to=CorpusStatus.WITHDRAWN, actor=maintainer,
            comment=message(
                "corpus.unpublished_after_report", reason=message(f"abuse.{report.reason}"), comment=comment.strip()
            ),
            reason=message("corpus.unpublished"),
        )
        # Every open report on the same corpus is settled with it.
        AbuseReport.objects.filter(corpus_id=report.corpus_id, status=AbuseReport.Status.OPEN).update(
            status=AbuseReport.Status.UNPUBLISHED, handled_by=maintainer, handled_at=timezone.now()
        )
        report.refresh_from_db()
        corpus = report.corpus
        notify(users=[corpus.submitter], corpus=corpus, kind=Notification.Kind.UNPUBLISHED, params={
            "title": corpus.title, "reason": report.reason, "comment": comment.strip()})
    elif action == "dismiss":
        report.status = AbuseReport.Status.DISMISSED
        report.handled_by = maintainer
        report.handled_at = timezone.now()
        report.save(update_fields=["status", "handled_by", "handled_at"])
    else:
        raise ValidationError(_("Unknown action."))
    return report


@transaction.atomic
def user_suspend(*, actor: User, user: User, reason: str) -> User:
    """A suspended account cannot sign in; what it contributed stays. The
    reason goes to the audit trail and to the member."""
    if not actor.is_maintainer:
        raise PermissionDenied
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot suspend yourself."))
    if not reason.strip():
        raise ValidationError(_("Say why the account is suspended."))
    # Two maintainers suspending each other at once: the second finds that
    # the first already made them unable to act, and the site keeps one.
    if actor.pk not in accounts.active_maintainers():
        raise PermissionDenied
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ValidationError(_("This account is already suspended."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    AccountEvent.objects.create(user=user, actor=actor, kind=AccountEvent.Kind.SUSPENDED, reason=reason.strip())
    # Sign them out everywhere now, not at their next login.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    notify(users=[user], kind=Notification.Kind.SUSPENDED, params={"reason": reason.strip()}, suspended_too=True)
    return user


@transaction.atomic
def user_reinstate(*, actor: User, user: User, reason: str = "") -> User:
    """Lift a suspension."""
    if not actor.is_maintainer:
        raise PermissionDenied
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise ValidationError(_("This account is not suspended."))
    user.is_active = True
    user.save(update_fields=["is_active"])
    AccountEvent.objects.create(user=user, actor=actor, kind=AccountEvent.Kind.REINSTATED, reason=reason.strip())
    notify(users=[user], kind=Notification.Kind.REINSTATED, params={})
    return user
