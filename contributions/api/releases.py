"""Releases: the training queue and new builds for maintainers; the releases
themselves and their files for whoever the release pages show them to
(public built ones for everyone, every one for maintainers)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import jobs, lifecycle, releases
from ..analysis.text import QUALITY_FLAGS
from ..models import LANGUAGES, Corpus, Domain, JobStatus, License, Release, TrainingVersion
from .filters import AllowListFilter
from .permissions import AgreementAccepted, IsMaintainer, MemberRequest
from .serializers import REFUSED, choice_field, errors

JobStatusField = choice_field(JobStatus.choices, component_name="JobStatus")

# ---------------------------------------------------------------- training queue


class QueuedCorpusSerializer(serializers.ModelSerializer):
    languages = serializers.ListField(child=serializers.CharField(), help_text="Declared by the submitter.")

    class Meta:
        model = Corpus
        fields = ["id", "title", "license", "languages", "domain"]
        read_only_fields = fields


class TrainingQueueEntrySerializer(serializers.ModelSerializer):
    """A corpus's training-ready version: what a release would take of it."""

    corpus = QueuedCorpusSerializer()

    class Meta:
        model = TrainingVersion
        fields = ["id", "corpus", "corpus_version", "documents", "words", "characters", "finished_at"]
        read_only_fields = fields


class TrainingQueue(generics.ListAPIView):
    """Approved corpora whose training-ready version is built and not yet
    released, in corpus order."""

    permission_classes = [IsMaintainer]
    serializer_class = TrainingQueueEntrySerializer
    # No filter: unknown query parameters are refused all the same.
    filter_backends = [AllowListFilter]

    def get_queryset(self) -> QuerySet[TrainingVersion]:
        return releases.training_queue()

    @extend_schema(responses={200: TrainingQueueEntrySerializer(many=True), **errors(400, *REFUSED, 404)})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


# ---------------------------------------------------------------- releases


class ReleaseFileSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Download it at files/<path> under the release's URL.")
    sha256 = serializers.CharField()
    bytes = serializers.IntegerField()


class ReleaseSerializer(serializers.ModelSerializer):
    status = JobStatusField()
    files = ReleaseFileSerializer(many=True, help_text="Empty until the release is built.")

    class Meta:
        model = Release
        fields = ["version", "status", "public", "created_at", "finished_at", "error", "files"]
        read_only_fields = fields


class ReleaseFiltersSerializer(serializers.Serializer):
    """What the release was made to take in, fixed when it was created."""

    licenses = serializers.ListField(child=serializers.CharField(), required=False)
    languages = serializers.ListField(child=serializers.CharField(), required=False)
    domains = serializers.ListField(child=serializers.CharField(), required=False)
    drop_flags = serializers.ListField(child=serializers.CharField(), required=False)
    removed = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="Ids of the documents removed on request, left out.")


class ReleaseDetailSerializer(ReleaseSerializer):
    filters = ReleaseFiltersSerializer()
    stats = serializers.DictField(
        help_text="Once built: documents, words, configs, corpora (what it kept of each), words_by_license, "
                  "duplicates_removed, languages, removed_ids, notes (what changed since the previous release, "
                  "as data to put into words in any language) and card (what the dataset card says, as data)."
    )
    notes = serializers.CharField(
        help_text="Once built: what changed since the previous release, in English Markdown whatever the "
                  "language asked for, like the release's files; stats.notes holds the same as data."
    )

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "filters", "stats", "notes"]
        read_only_fields = fields


class ReleaseCreateSerializer(serializers.Serializer):
    """As the training queue page's form (contributions.forms.ReleaseForm):
    the corpora named, or every corpus ready for a release, that the
    filters keep."""

    version = serializers.SlugField(max_length=40, help_text="For example 2026-12 or v1-2.")
    corpora = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53), required=False, max_length=100_000,
        help_text="Only these corpora (their ids), each ready for a release; none: every one.",
    )
    licenses = serializers.ListField(child=choice_field(License.choices)(), required=False)
    languages = serializers.ListField(child=choice_field(LANGUAGES)(), required=False)
    domains = serializers.ListField(child=choice_field(Domain.choices)(), required=False)
    drop_flags = serializers.ListField(child=choice_field(QUALITY_FLAGS)(), required=False,
                                       help_text="Leave out the documents with any of these quality flags.")
    public = serializers.BooleanField(required=False, default=False, help_text="Anyone may download it.")

    def validate_corpora(self, value: list[int]) -> list[Corpus] | None:
        if not value:
            return None
        wanted = set(value)
        found = list(Corpus.objects.filter(status__in=lifecycle.RELEASABLE, pk__in=wanted).order_by("id"))
        missing = sorted(wanted - {corpus.pk for corpus in found})
        if missing:
            raise serializers.ValidationError(
                _("Not ready for a release: %(values)s.") % {"values": ", ".join(map(str, missing[:10]))},
                code="not_ready",
            )
        return found


class ReleaseList(generics.ListAPIView):
    """Releases, newest first: public built ones, or every one for
    maintainers; a maintainer builds a new one (its build is queued)."""

    serializer_class = ReleaseSerializer
    filter_backends = [AllowListFilter]
    filters = {"status": "status"}
    ordering_fields = ["created_at", "version"]

    def get_permissions(self):
        # Reading as the release pages (anyone); building as the training queue page (maintainers).
        return [IsMaintainer() if self.request.method == "POST" else AgreementAccepted()]

    def get_queryset(self) -> QuerySet[Release]:
        return (
            releases.releases_visible_to(self.request.user)
            .only(*releases.LIST_FIELDS, "error", "files")
            .order_by("-created_at", "-id")
        )

    @extend_schema(responses={200: ReleaseSerializer(many=True), **errors(400, *REFUSED, 404)})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ReleaseCreateSerializer, responses={201: ReleaseDetailSerializer, **errors(400, *REFUSED)})
    def post(self, request: MemberRequest) -> Response:
        serializer = ReleaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        release = releases.release_create(actor=request.user, **serializer.validated_data)
        return Response(ReleaseDetailSerializer(release).data, status=status.HTTP_201_CREATED)


def visible_release(request: Request, version: str) -> Release:
    return get_object_or_404(releases.releases_visible_to(request.user), version=version)


class ReleaseDetail(APIView):
    """A release, with what it was made to take in, its statistics and notes."""

    permission_classes = [AgreementAccepted]

    @extend_schema(responses={200: ReleaseDetailSerializer, **errors(*REFUSED, 404)})
    def get(self, request: Request, version: str) -> Response:
        return Response(ReleaseDetailSerializer(visible_release(request, version)).data)


class ReleaseBuild(APIView):
    """Build a release again after its build failed or was cancelled."""

    permission_classes = [IsMaintainer]

    @extend_schema(request=None, responses={202: ReleaseSerializer, **errors(400, *REFUSED, 404)})
    def post(self, request: Request, version: str) -> Response:
        release = visible_release(request, version)
        jobs.job_retry(release)
        release.refresh_from_db()
        return Response(ReleaseSerializer(release).data, status=status.HTTP_202_ACCEPTED)


class ReleaseFileDownload(APIView):
    """A file of a built release, as listed in its ``files``. The files of
    non-commercial configs (``data/restricted…``) go to members only."""

    permission_classes = [AgreementAccepted]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **errors(*REFUSED, 404)})
    def get(self, request: Request, version: str, path: str) -> FileResponse:
        release = get_object_or_404(
            releases.releases_visible_to(request.user).filter(status=JobStatus.DONE).only("id", "prefix", "files"),
            version=version,
        )
        if path not in {entry["path"] for entry in release.files}:
            raise Http404
        # An account says who agreed to the licenses' terms.
        if releases.is_restricted_path(path) and not request.user.is_authenticated:
            raise NotAuthenticated
        # Streamed from storage: a shard is up to hundreds of megabytes.
        response = FileResponse(
            default_storage.open(f"{release.prefix}/{path}", "rb"), as_attachment=True,
            filename=path.replace("/", "_"), content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
