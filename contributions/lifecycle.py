"""The life of a corpus: which status may follow which, and the audit trail.

Every status change goes through ``corpus_transition``, which locks the row,
checks the move against ``TRANSITIONS`` and records a ``CorpusEvent`` in the
same transaction: two people acting at once leave one consistent state.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import EDITABLE_STATUSES, Corpus, CorpusEvent, User
from .models import CorpusStatus as S

PUBLISHED = {S.APPROVED, S.QUEUED_FOR_TRAINING, S.RELEASED}

TRANSITIONS: dict[S, set[S]] = {
    S.DRAFT: {S.SUBMITTED, S.WITHDRAWN},
    S.SUBMITTED: {S.PROCESSING, S.AWAITING_REVIEW, S.FAILED, S.DRAFT, S.WITHDRAWN},
    S.PROCESSING: {S.AWAITING_REVIEW, S.FAILED, S.DRAFT, S.WITHDRAWN},
    S.AWAITING_REVIEW: {S.APPROVED, S.CHANGES_REQUESTED, S.REJECTED, S.DRAFT, S.WITHDRAWN},
    S.FAILED: {S.SUBMITTED, S.DRAFT, S.WITHDRAWN},
    S.CHANGES_REQUESTED: {S.SUBMITTED, S.DRAFT, S.WITHDRAWN},
    # A maintainer may unpublish what was accepted (moderation).
    S.APPROVED: {S.QUEUED_FOR_TRAINING, S.WITHDRAWN},
    S.QUEUED_FOR_TRAINING: {S.RELEASED, S.WITHDRAWN},
    S.RELEASED: {S.WITHDRAWN},
    S.REJECTED: set(),
    S.WITHDRAWN: set(),
}


class TransitionRefused(ValidationError):
    pass


def corpus_transition(
    *,
    corpus_id: int,
    to: S,
    actor: User | None = None,
    comment: str = "",
    expected_version: int | None = None,
    reason: str | None = None,
    **fields,
) -> Corpus:
    """Move a corpus to ``to``. ``expected_version``, when given, must still be the
    corpus's version (a worker's result for an older version is dropped).
    ``fields`` are saved along. Raises TransitionRefused."""
    with transaction.atomic():
        corpus = Corpus.objects.select_for_update().get(pk=corpus_id)
        if expected_version is not None and corpus.version != expected_version:
            raise TransitionRefused(_("This corpus has changed since."))
        if to not in TRANSITIONS[S(corpus.status)]:
            raise TransitionRefused(
                _("A corpus cannot go from “%(from)s” to “%(to)s”.")
                % {"from": S(corpus.status).label, "to": S(to).label}
            )
        if to in {S.DRAFT, S.WITHDRAWN} and corpus.status == S.AWAITING_REVIEW and corpus.review_started_at:
            raise TransitionRefused(_("The review has started: the corpus can no longer be changed."))
        if to == S.WITHDRAWN and corpus.status not in EDITABLE_STATUSES | PUBLISHED:
            raise TransitionRefused(_("This corpus can no longer be withdrawn."))
        CorpusEvent.objects.create(
            corpus=corpus, actor=actor, from_status=corpus.status, to_status=to, comment=comment
        )
        corpus.status = to
        if reason is not None:
            corpus.status_reason = reason
        corpus.updated_at = timezone.now()
        for name, value in fields.items():
            setattr(corpus, name, value)
        corpus.save(update_fields=["status", "status_reason", "updated_at", *fields])
        return corpus


def corpus_try_transition(**kwargs) -> Corpus | None:
    """The same, for the workers: a refused move (the corpus changed or was
    withdrawn meanwhile) is not an error, just nothing to do."""
    try:
        return corpus_transition(**kwargs)
    except TransitionRefused:
        return None
