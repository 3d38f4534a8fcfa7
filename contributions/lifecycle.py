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

from .models import Corpus, CorpusEvent, Job, JobStatus, User
from .models import CorpusStatus as S
from .texts import Message, words_dump

# Every group of statuses lives here, and nowhere else.

# The submitter may still change the corpus (unless a reviewer has started:
# see ``is_editable``).
EDITABLE = frozenset({S.DRAFT, S.SUBMITTED, S.PROCESSING, S.AWAITING_REVIEW, S.FAILED, S.CHANGES_REQUESTED})
# What the submitter can send (again) to analysis.
SUBMITTABLE = frozenset({S.DRAFT, S.FAILED, S.CHANGES_REQUESTED})
# Accepted data: public, and what new documents count as duplicates of.
PUBLISHED = frozenset({S.APPROVED, S.QUEUED_FOR_TRAINING, S.RELEASED})
# Corpora whose training-ready version is built: they can go into a release,
# and their documents win over the same documents in later corpora.
RELEASABLE = frozenset({S.QUEUED_FOR_TRAINING, S.RELEASED})
# A corpus being analysed: its analysis can be followed live.
IN_ANALYSIS = frozenset({S.SUBMITTED, S.PROCESSING})
# Jobs (contributions.jobs): waiting or under way, and ended without success
# (what a maintainer may try again).
JOB_ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
JOB_RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
# The outcome of a review, as the decision that led to it.
OUTCOMES = {
    S.APPROVED: "approve",
    S.QUEUED_FOR_TRAINING: "approve",
    S.RELEASED: "approve",
    S.REJECTED: "reject",
    S.CHANGES_REQUESTED: "request_changes",
}

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


# The questions that pages ask about a corpus (templates use them through
# the filters of contributions.templatetags.openllm).


def is_editable(corpus: Corpus) -> bool:
    """The submitter may change it: not once a reviewer has acted on the
    version under review, nor once the review has ended."""
    if corpus.status == S.AWAITING_REVIEW and corpus.review_started_at is not None:
        return False
    return corpus.status in EDITABLE


def can_submit(corpus: Corpus) -> bool:
    return corpus.status in SUBMITTABLE


def can_withdraw(corpus: Corpus) -> bool:
    """For its submitter; a maintainer may also unpublish accepted data."""
    return is_editable(corpus)


def is_published(corpus: Corpus) -> bool:
    return corpus.status in PUBLISHED


def is_in_analysis(corpus: Corpus) -> bool:
    return corpus.status in IN_ANALYSIS


def job_is_active(job: Job | None) -> bool:
    return job is not None and job.status in JOB_ACTIVE


def job_can_retry(job: Job) -> bool:
    return job.status in JOB_RETRYABLE


def awaiting_review(corpus: Corpus) -> bool:
    return corpus.status == S.AWAITING_REVIEW


def is_failed(corpus: Corpus) -> bool:
    return corpus.status == S.FAILED


def is_withdrawn(corpus: Corpus) -> bool:
    return corpus.status == S.WITHDRAWN


def last_status_change() -> int | None:
    """The newest change of status of any corpus: every change records an
    event, so the end of the events' primary key moves at each one (an
    index lookup). Caches of what depends on statuses key on it."""
    return CorpusEvent.objects.order_by("-id").values_list("id", flat=True).first()


def corpus_transition(
    *,
    corpus_id: int,
    to: S,
    actor: User | None = None,
    comment: Message | str = "",
    expected_version: int | None = None,
    reason: Message | str | None = None,
    **fields,
) -> Corpus:
    """Move a corpus to ``to``. ``expected_version``, when given, must still be the
    corpus's version (a worker's result for an older version is dropped).
    ``fields`` are saved along. ``comment`` and ``reason``: a message, or a
    person's words (shown as they are). Raises TransitionRefused."""
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
        if to == S.WITHDRAWN and not (is_editable(corpus) or corpus.status in PUBLISHED):
            raise TransitionRefused(_("This corpus can no longer be withdrawn."))
        CorpusEvent.objects.create(
            corpus=corpus, actor=actor, from_status=corpus.status, to_status=to, comment=words_dump(comment)
        )
        corpus.status = to
        if reason is not None:
            corpus.status_reason = words_dump(reason)
        corpus.updated_at = timezone.now()
        # "I am reviewing this" holds a corpus while it waits for review: any
        # move ends it (a resubmitted version starts free).
        corpus.claimed_by, corpus.claim_expires_at = None, None
        for name, value in fields.items():
            setattr(corpus, name, value)
        corpus.save(update_fields=["status", "status_reason", "updated_at", "claimed_by", "claim_expires_at", *fields])
        return corpus


def corpus_try_transition(**kwargs) -> Corpus | None:
    """The same, for the workers: a refused move (the corpus changed or was
    withdrawn meanwhile) is not an error, just nothing to do."""
    try:
        return corpus_transition(**kwargs)
    except TransitionRefused:
        return None
