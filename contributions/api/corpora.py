"""A member's corpora, their files, status and documents."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import review, submissions
from ..analysis.documents import documents_page
from ..analysis.text import PII_KINDS, QUALITY_FLAGS
from ..models import Corpus, CorpusFile
from .errors import ApiError, error_body
from .filters import AllowListFilter, InvalidParameter, check_parameters
from .permissions import IsMember, IsReviewer, MemberRequest
from .serializers import (
    CorpusFileSerializer,
    CorpusSerializer,
    CorpusStatusSerializer,
    CorpusWriteSerializer,
    DocumentPageSerializer,
    DocumentsQuerySerializer,
    FileUploadSerializer,
)


def own_corpus(request: MemberRequest, pk: int) -> Corpus:
    """For changes: the member's own corpus; to anyone else it does not exist."""
    return get_object_or_404(Corpus, pk=pk, submitter=request.user)


def visible_corpus(request: MemberRequest, pk: int) -> Corpus:
    return get_object_or_404(submissions.corpora_visible_to(request.user), pk=pk)


class CorpusList(generics.ListCreateAPIView):
    """The member's own corpora, newest first; a new draft."""

    permission_classes = [IsMember]
    filter_backends = [AllowListFilter]
    filters = {"status": "status", "license": "license", "domain": "domain"}
    ordering_fields = ["created_at", "updated_at", "title"]

    def get_queryset(self) -> QuerySet[Corpus]:
        if getattr(self, "swagger_fake_view", False):  # the schema's generation
            return Corpus.objects.none()
        return Corpus.objects.filter(submitter=self.request.user.pk).order_by("-created_at", "-id")

    def get_serializer_class(self):
        return CorpusWriteSerializer if self.request.method == "POST" else CorpusSerializer

    @extend_schema(request=CorpusWriteSerializer, responses={201: CorpusSerializer})
    def post(self, request: MemberRequest, *args, **kwargs) -> Response:  # type: ignore[override]
        serializer = CorpusWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        corpus = submissions.corpus_create(submitter=request.user, **serializer.validated_data)
        return Response(CorpusSerializer(corpus).data, status=status.HTTP_201_CREATED)


class CorpusDetail(APIView):
    """A corpus: its submitter's, or any for reviewers. Only its submitter
    changes it, before its review starts."""

    permission_classes = [IsMember]

    @extend_schema(responses=CorpusSerializer)
    def get(self, request: MemberRequest, pk: int) -> Response:
        return Response(CorpusSerializer(visible_corpus(request, pk)).data)

    @extend_schema(request=CorpusWriteSerializer, responses=CorpusSerializer)
    def patch(self, request: MemberRequest, pk: int) -> Response:
        corpus = own_corpus(request, pk)
        serializer = CorpusWriteSerializer(corpus, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        corpus = submissions.corpus_update(corpus=corpus, actor=request.user, **serializer.validated_data)
        return Response(CorpusSerializer(corpus).data)


class CorpusSubmit(APIView):
    permission_classes = [IsMember]

    @extend_schema(request=None, responses={202: CorpusStatusSerializer})
    def post(self, request: MemberRequest, pk: int) -> Response:
        corpus = own_corpus(request, pk)
        submissions.corpus_submit(corpus=corpus, actor=request.user)
        return Response(_status(Corpus.objects.get(pk=pk)), status=status.HTTP_202_ACCEPTED)


class CorpusWithdraw(APIView):
    permission_classes = [IsMember]

    @extend_schema(request=None, responses=CorpusSerializer)
    def post(self, request: MemberRequest, pk: int) -> Response:
        corpus = submissions.corpus_withdraw(corpus=own_corpus(request, pk), actor=request.user)
        return Response(CorpusSerializer(corpus).data)


def _status(corpus: Corpus) -> dict:
    analysis = submissions.corpus_latest_analysis(corpus=corpus)
    return CorpusStatusSerializer(
        {"id": corpus.pk, "status": corpus.status, "version": corpus.version, "analysis": analysis}
    ).data


class CorpusStatusView(APIView):
    """The corpus's status and its latest analysis: progress while it runs,
    the report once done."""

    permission_classes = [IsMember]

    @extend_schema(responses=CorpusStatusSerializer)
    def get(self, request: MemberRequest, pk: int) -> Response:
        return Response(_status(visible_corpus(request, pk)))


class ListedOnGetSchema(AutoSchema):
    """The schema of a list view whose POST answers a plain list of what it
    made: only its GET is paginated and filtered."""

    def _get_paginator(self):
        return super()._get_paginator() if self.method == "GET" else None

    def get_filter_backends(self) -> list:
        return super().get_filter_backends() if self.method == "GET" else []


class CorpusFiles(generics.ListAPIView):
    """The corpus's files; add files (multipart, ``files`` once per file).
    For files of any size and uploads that survive a dropped connection,
    use the tus endpoint /api/v1/uploads/ instead."""

    schema = ListedOnGetSchema()
    permission_classes = [IsMember]
    serializer_class = CorpusFileSerializer
    filter_backends = [AllowListFilter]
    ordering_fields = ["name", "uploaded_at", "size"]
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> QuerySet[CorpusFile]:
        if getattr(self, "swagger_fake_view", False):
            return CorpusFile.objects.none()
        corpus = visible_corpus(self.request, self.kwargs["pk"])  # type: ignore[arg-type]
        # "name" as in the answers: ordering=name sorts by the stored original_name.
        return corpus.files.annotate(name=F("original_name")).order_by("original_name", "id")

    @extend_schema(
        request={"multipart/form-data": FileUploadSerializer}, responses={201: CorpusFileSerializer(many=True)}
    )
    def post(self, request: MemberRequest, pk: int) -> Response:
        corpus = own_corpus(request, pk)
        oversized = getattr(request._request, "oversized_uploads", [])
        if oversized:
            raise ValidationError(submissions.file_too_large_text(name=oversized[0]))
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        options = {key: serializer.validated_data[key] for key in ("split", "separator", "text_column")}
        added: list[CorpusFile] = []
        errors: list[ApiError] = []
        for upload in serializer.validated_data["files"]:
            try:
                added.append(submissions.corpus_file_add(corpus=corpus, actor=request.user, upload=upload, **options))
            except ValidationError as exc:
                errors.extend({"code": "file_rejected", "message": m, "field": "files"} for m in exc.messages)
        if errors:
            # The files that passed are kept; the answer names each refused one.
            body = error_body(errors)
            return Response({**body, "added": CorpusFileSerializer(added, many=True).data},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(CorpusFileSerializer(added, many=True).data, status=status.HTTP_201_CREATED)


class CorpusFileDetail(APIView):
    permission_classes = [IsMember]

    @extend_schema(responses=CorpusFileSerializer)
    def get(self, request: MemberRequest, pk: int, file_id: int) -> Response:
        corpus = visible_corpus(request, pk)
        return Response(CorpusFileSerializer(get_object_or_404(CorpusFile, pk=file_id, corpus=corpus)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: MemberRequest, pk: int, file_id: int) -> Response:
        corpus = own_corpus(request, pk)
        corpus_file = get_object_or_404(CorpusFile, pk=file_id, corpus=corpus)
        submissions.corpus_file_remove(corpus=corpus, actor=request.user, corpus_file=corpus_file)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CorpusFileDownload(APIView):
    permission_classes = [IsMember]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: MemberRequest, pk: int, file_id: int) -> FileResponse:
        corpus = visible_corpus(request, pk)
        corpus_file = get_object_or_404(CorpusFile, pk=file_id, corpus=corpus)
        response = FileResponse(
            corpus_file.file.open("rb"), as_attachment=True, filename=corpus_file.original_name,
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class CorpusDocuments(APIView):
    """The documents of the version under review, as its reviewers see
    them: never the reviewer's own corpus."""

    permission_classes = [IsReviewer]

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int), OpenApiParameter("page_size", int),
            OpenApiParameter("flag", str, enum=list(QUALITY_FLAGS)),
            OpenApiParameter("personal_data", str, enum=["any", *PII_KINDS]),
            OpenApiParameter("q", str, description="Text the documents hold (any case)."),
        ],
        responses=DocumentPageSerializer,
    )
    def get(self, request: MemberRequest, pk: int) -> Response:
        check_parameters(request, {"flag", "personal_data", "q"})
        query = DocumentsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if params["flag"] and params["flag"] not in QUALITY_FLAGS:
            raise InvalidParameter("flag", _("Unknown quality flag."), "invalid_choice")
        if params["personal_data"] and params["personal_data"] not in {"any", *PII_KINDS}:
            raise InvalidParameter("personal_data", _("Unknown kind of personal data."), "invalid_choice")
        corpus = get_object_or_404(Corpus, pk=pk)
        if corpus.submitter_id == request.user.id:
            raise PermissionDenied(_("You cannot review your own corpus."))
        analysis = review.review_analysis(corpus=corpus)
        if analysis is None:
            return Response({"count": 0, "page": 1, "pages": 1, "results": []})
        kind = params["personal_data"]
        found = documents_page(
            run=analysis, page=params["page"], per_page=params["page_size"], query=params["q"].strip(),
            flag=params["flag"], personal_data=kind == "any", personal_data_kind="" if kind == "any" else kind,
        )
        results = [
            {
                "doc_index": row["doc_index"], "source": row.get("source"), "line": row.get("line"),
                "text": row["text"], "truncated": row["truncated"], "chars": row["chars"],
                "words": row.get("words"), "language": row.get("language"), "flags": row["flags"] or [],
                "duplicate_of": row.get("duplicate_of"),
                "personal_data": {k: row[f"pii_{k}"] for k in PII_KINDS if row.get(f"pii_{k}")},
                "findings": row["findings"],
            }
            for row in found["documents"]
        ]
        return Response({"count": found["total"], "page": found["page"], "pages": found["pages"], "results": results})

