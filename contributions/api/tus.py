"""The tus 1.0 resumable upload protocol, with its creation, termination,
checksum and expiration extensions (https://tus.io/protocols/resumable-upload):
any tus client uploads a file of any allowed size in chunks, and resumes
where the server's offset says after a dropped connection.

POST /api/v1/uploads/ with ``Upload-Length`` and ``Upload-Metadata``
(``filename``, ``corpus`` and optionally ``split``, ``separator``,
``text_column``) makes an upload; PATCH appends a chunk; HEAD tells the
offset; DELETE cancels. The last chunk's answer says whether the file was
accepted (``Corpus-File`` header) or why not (a JSON error)."""

from __future__ import annotations

import base64
import binascii
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import resumable
from ..models import Corpus, ResumableUpload
from ..submissions import FileTooLarge
from .errors import error_body
from .permissions import IsMember, MemberRequest
from .serializers import UploadOptionsSerializer

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,checksum,expiration"


def _error(status_code: int, code: str, message: str, field: str | None = None) -> Response:
    return Response(error_body([{"code": code, "message": message, "field": field}]), status=status_code)


def _integer(request: Request, header: str) -> int:
    value = request.headers.get(header, "")
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise exceptions.ValidationError({header: [exceptions.ErrorDetail(
            _("%(header)s must be a whole number of bytes.") % {"header": header}, code="invalid")]})
    return int(value)


class TusView(APIView):
    throttle_scope = "upload"
    parser_classes: list = []

    def get_permissions(self):
        # OPTIONS tells a client what the server supports, to anyone.
        return [] if self.request.method == "OPTIONS" else [IsMember()]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise UnsupportedVersion

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, UnsupportedVersion):
            response = _error(412, "tus_version", _("This server speaks tus %(version)s only.") % {
                "version": TUS_VERSION})
            response["Tus-Version"] = TUS_VERSION
            return response
        return super().handle_exception(exc)

    @extend_schema(exclude=True)
    def options(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[override]
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = EXTENSIONS
        response["Tus-Max-Size"] = str(settings.UPLOAD_MAX_FILE_SIZE)
        response["Tus-Checksum-Algorithm"] = ",".join(resumable.CHECKSUM_ALGORITHMS)
        return response


class UnsupportedVersion(Exception):
    pass


# The owner's chunk refused for the upload's state (409, 423, 460) is read
# to its end before the answer, up to so much and so long: a server that
# answers and closes while the client still sends resets the connection,
# and the client never learns the offset. Nobody else's bytes are read.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10


def _drain(request) -> None:
    left, deadline = DRAIN_BYTES, time.monotonic() + DRAIN_SECONDS
    try:
        while left > 0 and time.monotonic() < deadline and (data := request.read(min(left, resumable.READ_SIZE))):
            left -= len(data)
    except OSError:
        pass


def _upload_headers(response: Response, upload: ResumableUpload) -> Response:
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Length"] = str(upload.length)
    if upload.status == ResumableUpload.Status.RECEIVING:
        response["Upload-Expires"] = http_date(resumable.upload_expires_at(upload).timestamp())
    elif upload.corpus_file_id:
        response["Corpus-File"] = str(upload.corpus_file_id)
    return response


TUS_HEADERS = [
    OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER, required=True, enum=[TUS_VERSION]),
]


class UploadCreate(TusView):
    @extend_schema(
        parameters=[
            *TUS_HEADERS,
            OpenApiParameter("Upload-Length", int, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                "Upload-Metadata", str, OpenApiParameter.HEADER, required=True,
                description="`filename`, `corpus` (its id) and optionally `split`, `separator`, `text_column`, "
                            "each as `key base64(value)`, comma-separated.",
            ),
        ],
        request=None, responses={201: None},
        description="Make a resumable upload (tus creation); its URL is in the `Location` header.",
    )
    def post(self, request: MemberRequest) -> Response:
        length = _integer(request, "Upload-Length")
        if length > settings.UPLOAD_MAX_FILE_SIZE:
            return _error(413, "too_large", _("Larger than the limit of %(limit)s bytes.") % {
                "limit": number_format(settings.UPLOAD_MAX_FILE_SIZE, force_grouping=True)}, "Upload-Length")
        metadata = resumable.metadata_parse(request.headers.get("Upload-Metadata", ""))
        name = metadata.get("filename") or metadata.get("name") or ""
        if not name:
            return _error(400, "required", _("Upload-Metadata: give the file's name (filename)."), "filename")
        corpus_id = metadata.get("corpus", "")
        if not corpus_id.isascii() or not corpus_id.isdigit() or len(corpus_id) > 18:
            return _error(400, "required", _("Upload-Metadata: give the corpus's id (corpus)."), "corpus")
        options = UploadOptionsSerializer(data={
            key: metadata[key] for key in ("split", "separator", "text_column") if key in metadata
        })
        options.is_valid(raise_exception=True)
        corpus = get_object_or_404(Corpus, pk=int(corpus_id), submitter=request.user)
        try:
            upload = resumable.upload_create(user=request.user, corpus=corpus, name=name, length=length,
                                             **options.validated_data)
        except FileTooLarge as exc:
            return _error(413, "too_large", exc.messages[0], "Upload-Length")
        except resumable.NoRoom:
            return _error(507, "insufficient_storage", _("The server is short of disk space: try again later."))
        response = Response(status=status.HTTP_201_CREATED)
        # Relative (as tus allows): right whatever scheme and host a proxy
        # in front of the site shows the client.
        response["Location"] = reverse("api:upload_detail", args=[upload.key])
        return _upload_headers(response, upload)


class UploadDetail(TusView):
    def _upload(self, request: MemberRequest, key: str) -> ResumableUpload:
        return get_object_or_404(ResumableUpload.objects.select_related("corpus", "user"), key=key[:32],
                                 user=request.user)

    @extend_schema(parameters=TUS_HEADERS, responses={200: None},
                   description="The upload's offset (`Upload-Offset`) and length.")
    def head(self, request: MemberRequest, key: str) -> Response:
        return _upload_headers(Response(status=status.HTTP_200_OK), self._upload(request, key))

    @extend_schema(
        parameters=[
            *TUS_HEADERS,
            OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Upload-Checksum", str, OpenApiParameter.HEADER,
                             description="`sha1 <base64 digest>` (or sha256, md5) of this chunk."),
        ],
        request={"application/offset+octet-stream": bytes},
        responses={204: None},
        description="Append a chunk at `Upload-Offset`. The last chunk's answer carries the id of the corpus file "
                    "made (`Corpus-File`), or a 400 error saying why the file was refused.",
    )
    def patch(self, request: MemberRequest, key: str) -> Response:
        upload = self._upload(request, key)
        if request.content_type.split(";")[0].strip() != "application/offset+octet-stream":
            return _error(415, "unsupported_media_type",
                          _("A chunk is sent as application/offset+octet-stream."), "Content-Type")
        offset = _integer(request, "Upload-Offset")
        length = _integer(request, "Content-Length")
        checksum = None
        if "Upload-Checksum" in request.headers:
            algorithm, _sep, value = request.headers["Upload-Checksum"].partition(" ")
            if algorithm not in resumable.CHECKSUM_ALGORITHMS:
                return _error(400, "checksum_algorithm", _("Unsupported checksum algorithm (use one of %(list)s).")
                              % {"list": ", ".join(resumable.CHECKSUM_ALGORITHMS)}, "Upload-Checksum")
            try:
                checksum = (algorithm, base64.b64decode(value.strip(), validate=True))
            except (binascii.Error, ValueError):
                return _error(400, "invalid", _("Upload-Checksum: the digest is not base64."), "Upload-Checksum")
        try:
            upload = resumable.upload_append(
                upload=upload, offset=offset, read=request._request.read, length=length, checksum=checksum
            )
        except resumable.UploadLocked:
            _drain(request._request)
            return _error(423, "locked", _("Another request is sending a chunk of this upload; try again."))
        except resumable.OffsetMismatch as exc:
            _drain(request._request)
            response = _error(409, "offset_mismatch", _("The upload is at byte %(offset)s, not at this one.")
                              % {"offset": exc.offset}, "Upload-Offset")
            response["Upload-Offset"] = str(exc.offset)
            return response
        except resumable.ChecksumMismatch:
            # Its bytes were all read to check them.
            return _error(460, "checksum_mismatch", _("The chunk does not match its checksum: send it again."),
                          "Upload-Checksum")
        except ResumableUpload.DoesNotExist:
            raise exceptions.NotFound from None
        except ValidationError as exc:
            return Response(error_body([{"code": "file_rejected", "message": m, "field": None}
                                        for m in exc.messages]), status=400)
        return _upload_headers(Response(status=status.HTTP_204_NO_CONTENT), upload)

    @extend_schema(parameters=TUS_HEADERS, responses={204: None},
                   description="Cancel the upload (tus termination); its bytes are deleted.")
    def delete(self, request: MemberRequest, key: str) -> Response:
        try:
            resumable.upload_terminate(upload=self._upload(request, key))
        except resumable.UploadLocked:
            return _error(423, "locked", _("A chunk of this upload is being received; try again."))
        return Response(status=status.HTTP_204_NO_CONTENT)
