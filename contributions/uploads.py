from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


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
                self.request.oversized_uploads.append(self.file_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
