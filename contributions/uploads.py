from __future__ import annotations

import os

from django.conf import settings
from django.core.files import uploadhandler
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

# Django names a temporary file "tmpXXXXXXXX.upload" + the upload's
# extension, and file systems refuse names over 255 bytes.
MAX_SUFFIX_BYTES = 100


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops receiving a file once it passes UPLOAD_MAX_FILE_SIZE, before it
    fills the disk, and leaves its name on ``request.oversized_uploads`` so
    that the view can say which file it was."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        if request is not None:
            request.oversized_uploads = []

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.UPLOAD_MAX_FILE_SIZE:
            if self.request is not None:
                self.request.oversized_uploads.append(self.file_name)  # type: ignore[attr-defined]
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class TemporaryFileUploadHandler(uploadhandler.TemporaryFileUploadHandler):
    """Django's, except that a long extension (a name such as "x.ééé…" of
    hundreds of bytes) no longer makes the temporary file's name too long
    for the file system, an OSError and a 500 before any view runs. The
    upload keeps its name: the view says what is wrong with it."""

    def new_file(self, *args, **kwargs) -> None:
        FileUploadHandler.new_file(self, *args, **kwargs)
        extension = os.path.splitext(self.file_name or "")[1]
        self.file = TemporaryUploadedFile(
            "upload" + (extension if len(extension.encode()) <= MAX_SUFFIX_BYTES else ""),
            self.content_type,
            0,
            self.charset,
            self.content_type_extra,
        )
        self.file.name = self.file_name
