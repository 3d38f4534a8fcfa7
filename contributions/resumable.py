"""Resumable uploads (the tus 1.0 protocol, contributions.api.tus): a file
arrives in chunks, each appended to a file of RESUMABLE_UPLOAD_DIR at the
offset the row records. The row and the file survive a dropped connection
or a restarted web process; once whole, the file is checked by content and
becomes a CorpusFile, exactly as a form upload."""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import lifecycle, submissions
from .models import Corpus, CorpusFile, ResumableUpload, User

logger = logging.getLogger(__name__)

CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
READ_SIZE = 1024 * 1024


class UploadLocked(Exception):
    """Another request is appending to this upload right now."""


class OffsetMismatch(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class ChecksumMismatch(Exception):
    pass


class NoRoom(Exception):
    """The server's disk cannot take this upload now."""


def _path(key: str) -> Path:
    return Path(settings.RESUMABLE_UPLOAD_DIR) / key


def upload_expires_at(upload: ResumableUpload) -> datetime.datetime:
    return upload.updated_at + datetime.timedelta(hours=settings.RESUMABLE_UPLOAD_EXPIRY_HOURS)


def upload_create(
    *, user: User, corpus: Corpus, name: str, length: int, split: str = "file", separator: str = "",
    text_column: str = "text",
) -> ResumableUpload:
    """A new upload of ``length`` bytes into the member's corpus. What can be
    known before the bytes (the name's format, the size, the options, the
    corpus still open to changes) is checked now, not after gigabytes."""
    if corpus.submitter_id != user.id:
        raise Corpus.DoesNotExist
    if not lifecycle.is_editable(corpus):
        raise ValidationError(_("This corpus can no longer be changed: its review has started or ended."))
    name, _fmt = submissions.file_check(name=name, size=length, split=split, separator=separator)
    receiving = ResumableUpload.objects.filter(status=ResumableUpload.Status.RECEIVING)
    mine = receiving.filter(user=user).aggregate(count=Count("id"), bytes=Sum("length"))
    if mine["count"] >= settings.RESUMABLE_UPLOADS_PER_MEMBER:
        raise ValidationError(
            ngettext(
                "You have %(count)s upload under way: finish or cancel it first.",
                "You have %(count)s uploads under way: finish or cancel one first.",
                mine["count"],
            ) % {"count": mine["count"]}
        )
    if (mine["bytes"] or 0) + length > settings.RESUMABLE_UPLOAD_BYTES_PER_MEMBER:
        raise ValidationError(
            _("Your uploads under way would hold more than %(limit)s bytes: finish or cancel one first.")
            % {"limit": number_format(settings.RESUMABLE_UPLOAD_BYTES_PER_MEMBER, force_grouping=True)}
        )
    # Every upload under way will write the rest of its bytes: this one
    # starts only if the disk holds them all, and a margin besides.
    folder = Path(settings.RESUMABLE_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    promised = receiving.aggregate(rest=Sum(F("length") - F("offset")))["rest"] or 0
    if shutil.disk_usage(folder).free < promised + length + settings.RESUMABLE_UPLOAD_FREE_BYTES:
        raise NoRoom
    upload = ResumableUpload(
        key=uuid.uuid4().hex, user=user, corpus=corpus, name=name, length=length, split=split,
        separator=separator, text_column=text_column or "text",
    )
    _path(upload.key).touch()
    upload.save()
    if length == 0:
        upload = _finish(upload)
    return upload


def upload_append(
    *, upload: ResumableUpload, offset: int, read: Callable[[int], bytes], length: int,
    checksum: tuple[str, bytes] | None = None,
) -> ResumableUpload:
    """Append ``length`` bytes from ``read`` at ``offset``. A connection that
    drops keeps the bytes that arrived (unless a checksum was given: then
    all or nothing). The last chunk finishes the upload: a file refused by
    its content raises ValidationError and leaves nothing behind."""
    path = _path(upload.key)
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        raise ResumableUpload.DoesNotExist from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadLocked from None
        upload = ResumableUpload.objects.get(pk=upload.pk)
        if offset != upload.offset or upload.status != ResumableUpload.Status.RECEIVING:
            raise OffsetMismatch(upload.offset)
        if length > upload.length - offset:
            raise ValidationError(_("This chunk goes past the end of the upload."))
        digest = CHECKSUM_ALGORITHMS[checksum[0]]() if checksum else None
        handle.seek(offset)
        received = 0
        try:
            while received < length:
                data = read(min(READ_SIZE, length - received))
                if not data:
                    break
                handle.write(data)
                if digest:
                    digest.update(data)
                received += len(data)
        except OSError:
            logger.info("upload %s: the connection dropped after %s bytes", upload.key, received)
        handle.flush()
        if digest and (received < length or digest.digest() != checksum[1]):  # type: ignore[index]
            handle.truncate(offset)
            if received < length:
                return upload
            raise ChecksumMismatch
        os.fsync(handle.fileno())
        upload.updated_at = timezone.now()
        if offset + received == upload.length:
            # The offset moves to the end only with the file stored: a process
            # that dies while checking it leaves the last chunk to be sent
            # again, never an upload that looks whole and made no file.
            return _finish(upload)
        upload.offset = offset + received
        # The corpus, or the member, may have been deleted meanwhile.
        if not ResumableUpload.objects.filter(pk=upload.pk).update(offset=upload.offset, updated_at=upload.updated_at):
            path.unlink(missing_ok=True)
            raise ResumableUpload.DoesNotExist
    return upload


def _finish(upload: ResumableUpload) -> ResumableUpload:
    path = _path(upload.key)

    def done(corpus_file: CorpusFile) -> None:
        # With the file's row, in its transaction: both or neither.
        upload.status, upload.corpus_file, upload.offset = ResumableUpload.Status.DONE, corpus_file, upload.length
        if not ResumableUpload.objects.filter(pk=upload.pk).update(
            status=upload.status, corpus_file=corpus_file, offset=upload.offset, updated_at=upload.updated_at
        ):
            raise ResumableUpload.DoesNotExist

    try:
        with path.open("rb") as handle:
            submissions.corpus_file_add(
                corpus=upload.corpus, actor=upload.user,
                upload=UploadedFile(file=handle, name=upload.name, size=upload.length),
                split=upload.split, separator=upload.separator, text_column=upload.text_column, attached=done,
            )
    except ValidationError:
        upload.delete()
        path.unlink(missing_ok=True)
        raise
    except (Corpus.DoesNotExist, ResumableUpload.DoesNotExist):
        # The corpus or the member went while the file was checked.
        path.unlink(missing_ok=True)
        raise ResumableUpload.DoesNotExist from None
    path.unlink(missing_ok=True)
    return upload


def upload_terminate(*, upload: ResumableUpload) -> None:
    """Cancel the upload and delete its bytes; never while a chunk is being
    written (UploadLocked)."""
    path = _path(upload.key)
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        ResumableUpload.objects.filter(pk=upload.pk).delete()
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadLocked from None
        ResumableUpload.objects.filter(pk=upload.pk).delete()
        path.unlink(missing_ok=True)


def uploads_cleanup() -> int:
    """Delete the uploads nobody sent a chunk to for
    RESUMABLE_UPLOAD_EXPIRY_HOURS, the rows of finished ones as old, and
    files that no row names. Returns how many uploads went."""
    cutoff = timezone.now() - datetime.timedelta(hours=settings.RESUMABLE_UPLOAD_EXPIRY_HOURS)
    expired = list(ResumableUpload.objects.filter(updated_at__lt=cutoff))
    for upload in expired:
        try:
            upload_terminate(upload=upload)
        except UploadLocked:
            pass  # a chunk is arriving after all: no longer abandoned
    folder = Path(settings.RESUMABLE_UPLOAD_DIR)
    if folder.is_dir():
        for path in folder.iterdir():
            # A file just made has its row a moment later: spare young ones.
            age = timezone.now().timestamp() - path.stat().st_mtime
            if age > 3600 and not ResumableUpload.objects.filter(key=path.name).exists():
                path.unlink(missing_ok=True)
    return len(expired)


def metadata_parse(header: str) -> dict[str, str]:
    """The Upload-Metadata header: ``key base64value`` pairs, comma-separated."""
    metadata = {}
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _sep, value = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeError):
            raise ValidationError(_("Upload-Metadata: the value of “%(key)s” is not base64 of UTF-8 text.")
                                  % {"key": key[:50]}) from None
    return metadata
