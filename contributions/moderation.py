"""Reports from members, handled by maintainers: unpublish, dismiss, suspend."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lifecycle
from .models import AbuseReport, Corpus, CorpusStatus, User


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
            comment=_("Unpublished after a report (%(reason)s). %(comment)s")
            % {"reason": report.get_reason_display(), "comment": comment},
            reason=_("Unpublished by a maintainer after a report."),
        )
        # Every open report on the same corpus is settled with it.
        AbuseReport.objects.filter(corpus_id=report.corpus_id, status=AbuseReport.Status.OPEN).update(
            status=AbuseReport.Status.UNPUBLISHED, handled_by=maintainer, handled_at=timezone.now()
        )
        report.refresh_from_db()
    elif action == "dismiss":
        report.status = AbuseReport.Status.DISMISSED
        report.handled_by = maintainer
        report.handled_at = timezone.now()
        report.save(update_fields=["status", "handled_by", "handled_at"])
    else:
        raise ValidationError(_("Unknown action."))
    return report


def user_suspend(*, actor: User, user: User) -> User:
    """A suspended account cannot sign in; what it contributed stays."""
    if not actor.is_maintainer:
        raise PermissionDenied
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot suspend yourself."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    from django.contrib.sessions.models import Session

    # Sign them out everywhere now, not at their next login.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    return user
