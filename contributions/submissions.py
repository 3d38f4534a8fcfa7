"""Corpora: creation, files, submission, withdrawal."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from . import lifecycle
from .analysis.formats import FORMATS, FileRejected, FormatOptions, format_of, safe_name, short_name, upload_check
from .jobs import job_cancel, job_enqueue
from .models import AnalysisRun, Corpus, CorpusFile, CorpusStatus, User
from .texts import message, message_dump

STORED_NAME_BYTES = 100

METADATA_FIELDS = [
    "title", "description", "languages", "license", "source_url", "collection_method", "domain",
    "period_start", "period_end", "rights_attested", "web_collected", "tdm_respected",
    "may_contain_personal_data",
]


def metadata_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with a corpus's metadata taken together (the form and
    the API check each field alone first), as (field, message) pairs."""
    problems = []
    start, end = data.get("period_start"), data.get("period_end")
    if start and end and start > end:
        problems.append(("period_end", _("The end of the period comes before its start.")))
    if not data.get("source_url") and not (data.get("collection_method") or "").strip():
        problems.append(("source_url", _("Give the source URL, or say how the text was collected, or both.")))
    if data.get("web_collected") and not data.get("tdm_respected"):
        problems.append(("tdm_respected", _("Text gathered from the web needs this attestation.")))
    return problems


def corpora_visible_to(user: User) -> QuerySet[Corpus]:
    """Members see their own corpora; reviewers and maintainers see all."""
    if not user.is_authenticated:
        return Corpus.objects.none()
    if user.is_reviewer:
        return Corpus.objects.all()
    return Corpus.objects.filter(submitter=user)


def _check_owner(corpus: Corpus, actor: User) -> None:
    if corpus.submitter_id != actor.id:
        raise PermissionDenied


def _fresh(corpus: Corpus, actor: User, *, lock: bool = False) -> Corpus:
    """The corpus as it is now in the database, checked as the actor's and
    still editable: the caller's copy may be older than another request.
    ``lock`` (inside a transaction) keeps a reviewer's first decision from
    landing between the check and the change."""
    corpora = Corpus.objects.select_for_update() if lock else Corpus.objects
    corpus = corpora.get(pk=corpus.pk)
    _check_owner(corpus, actor)
    _check_editable(corpus)
    return corpus


def _check_editable(corpus: Corpus) -> None:
    if not lifecycle.is_editable(corpus):
        raise ValidationError(_("This corpus can no longer be changed: its review has started or ended."))


def _cancel_analyses(corpus: Corpus) -> None:
    # The caller moves the corpus itself (back to draft, withdrawn...).
    for run in AnalysisRun.objects.filter(corpus=corpus, status__in=lifecycle.JOB_ACTIVE):
        job_cancel(run, reason=message_dump(message("analysis.corpus_changed")), settle=False)


def corpus_create(*, submitter: User, **metadata: Any) -> Corpus:
    corpus = Corpus(submitter=submitter, submitter_pseudonym=submitter.pseudonym)
    for name in METADATA_FIELDS:
        if name in metadata:
            setattr(corpus, name, metadata[name])
    corpus.full_clean()
    corpus.save()
    return corpus


@transaction.atomic
def corpus_update(*, corpus: Corpus, actor: User, **metadata: Any) -> Corpus:
    corpus = _fresh(corpus, actor, lock=True)
    changed = [name for name in METADATA_FIELDS if name in metadata]
    for name in changed:
        setattr(corpus, name, metadata[name])
    corpus.updated_at = timezone.now()
    corpus.full_clean()
    corpus.save(update_fields=[*changed, "updated_at"])
    return corpus


def _back_to_draft(corpus: Corpus, actor: User) -> None:
    """The files changed: an analysis under way or done no longer describes
    the corpus, which must be submitted again."""
    _cancel_analyses(corpus)
    if corpus.status != CorpusStatus.DRAFT:
        lifecycle.corpus_transition(
            corpus_id=corpus.id, to=CorpusStatus.DRAFT, actor=actor,
            comment=message("corpus.files_changed"), reason="",
        )
    else:
        Corpus.objects.filter(pk=corpus.pk).update(updated_at=timezone.now())


class FileTooLarge(ValidationError):
    pass


def file_too_large_text(*, name: str) -> str:
    """What a file over UPLOAD_MAX_FILE_SIZE is told (by the form, the API
    and the check of a file's content alike)."""
    return _("%(name)s: larger than the limit of %(limit)s bytes.") % {
        "name": name, "limit": number_format(settings.UPLOAD_MAX_FILE_SIZE, force_grouping=True)}


def file_check(*, name: str, size: int, split: str, separator: str) -> tuple[str, str]:
    """What can be said of a file before reading it, from its name, size and
    options: its name fit for messages and its format, or ValidationError."""
    name = safe_name(short_name(name))
    fmt = format_of(name)
    if fmt is None:
        accepted = ", ".join(f".{f}" for f in sorted(FORMATS))
        raise ValidationError(_("%(name)s: unsupported file type (accepted: %(accepted)s).")
                              % {"name": name, "accepted": accepted})
    if size > settings.UPLOAD_MAX_FILE_SIZE:
        raise FileTooLarge(file_too_large_text(name=name))
    if split not in CorpusFile.Split.values:
        raise ValidationError(_("%(name)s: unknown way to split the file into documents.") % {"name": name})
    if split == "separator" and not separator.strip():
        raise ValidationError(_("%(name)s: give the separator line.") % {"name": name})
    if split == "separator" and ("\n" in separator.strip() or "\r" in separator.strip()):
        # Documents are cut at a line that is the separator: one line.
        raise ValidationError(_("%(name)s: the separator is a single line.") % {"name": name})
    return name, fmt


def corpus_file_add(
    *, corpus: Corpus, actor: User, upload: UploadedFile, split: str = "file", separator: str = "",
    text_column: str = "text", attached: Callable[[CorpusFile], object] | None = None,
) -> CorpusFile:
    """Check an uploaded file by its content and keep it. Raises
    ValidationError with a message that names the file. Only bounded checks
    run here, in the web request: the worker reads the documents.
    ``attached`` runs in the short transaction that records the file (the
    check and the copy into storage come before it, outside any lock)."""
    corpus = _fresh(corpus, actor)
    size = upload.size or 0
    name, fmt = file_check(name=upload.name or "file", size=size, split=split, separator=separator)
    options = FormatOptions(split=split, separator=separator, text_column=text_column or "text")
    upload.seek(0)
    try:
        upload_check(upload.file, name=name, fmt=fmt, options=options, size=size)
    except FileRejected as exc:
        raise ValidationError(str(exc)) from None
    except (UnicodeError, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise ValidationError(f"{name}: {_('unreadable file')} ({type(exc).__name__})") from None
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stored = CorpusFile(
        original_name=name, format=fmt, size=size, sha256=digest.hexdigest(),
        split=split, separator=separator, text_column=text_column or "text",
    )
    stored.file.save(f"corpora/{corpus.id}/{uuid.uuid4().hex}/{_storage_name(name, fmt)}", upload, save=False)
    try:
        with transaction.atomic():
            stored.corpus = _fresh(corpus, actor, lock=True)
            stored.save()
            _back_to_draft(stored.corpus, actor)
            if attached:
                attached(stored)
    except Exception:
        stored.file.delete(save=False)  # nothing half-written
        raise
    return stored


def _storage_name(name: str, fmt: str) -> str:
    """The name of the stored file: file systems limit a name to 255 bytes,
    not characters. ``original_name`` keeps the name for display."""
    stored = short_name(get_valid_filename(name), max_bytes=STORED_NAME_BYTES)
    if format_of(stored) != fmt or stored.startswith("."):
        stored = f"file.{fmt}"
    return stored


def corpus_file_remove(*, corpus: Corpus, actor: User, corpus_file: CorpusFile) -> None:
    with transaction.atomic():
        corpus = _fresh(corpus, actor, lock=True)
        names = [corpus_file.file.name]
        corpus_file.delete()
        _back_to_draft(corpus, actor)
        transaction.on_commit(partial(_delete_files, names))


@transaction.atomic
def corpus_submit(*, corpus: Corpus, actor: User) -> AnalysisRun:
    """Send the corpus to analysis; the reviewers see it once analysed."""
    corpus = Corpus.objects.select_for_update().get(pk=corpus.pk)
    _check_owner(corpus, actor)
    _check_editable(corpus)
    if not lifecycle.can_submit(corpus):
        raise ValidationError(_("This corpus is already submitted."))
    if not corpus.files.exists():
        raise ValidationError(_("Add at least one file before submitting."))
    if not corpus.rights_attested:
        raise ValidationError(_("Attest that you hold the rights to this text before submitting."))
    if corpus.web_collected and not corpus.tdm_respected:
        raise ValidationError(
            _("Text gathered from the web needs the attestation that robots.txt and text-and-data-mining "
              "reservations were respected.")
        )
    _cancel_analyses(corpus)
    now = timezone.now()
    corpus = lifecycle.corpus_transition(
        corpus_id=corpus.id, to=CorpusStatus.SUBMITTED, actor=actor, reason="",
        version=corpus.version + 1, submitted_at=now, review_started_at=None,
    )
    run = AnalysisRun.objects.create(corpus=corpus, corpus_version=corpus.version)
    job_enqueue(run)
    return run


@transaction.atomic
def corpus_withdraw(*, corpus: Corpus, actor: User) -> Corpus:
    corpus = _fresh(corpus, actor, lock=True)
    _cancel_analyses(corpus)
    return lifecycle.corpus_transition(corpus_id=corpus.id, to=CorpusStatus.WITHDRAWN, actor=actor)


def corpus_delete_draft(*, corpus: Corpus, actor: User) -> None:
    """Delete a draft that was never submitted, with its files: nobody but
    its submitter ever saw it."""
    with transaction.atomic():
        corpus = Corpus.objects.select_for_update().get(pk=corpus.pk)
        _check_owner(corpus, actor)
        if corpus.status != CorpusStatus.DRAFT or corpus.submitted_at is not None:
            raise ValidationError(_("Only a draft that was never submitted can be deleted."))
        names: list[str | None] = list(corpus.files.values_list("file", flat=True))
        corpus.delete()
        transaction.on_commit(partial(_delete_files, names))


def _delete_files(names: list[str | None]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def corpus_latest_analysis(*, corpus: Corpus) -> AnalysisRun | None:
    return corpus.analyses.order_by("-created_at", "-id").first()
