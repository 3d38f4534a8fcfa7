"""What anyone may read, as the public pages show it (the statistics, the
catalogue of accepted corpora and each one's public data), and who the
caller is."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import catalogue, stats
from ..dashboard import text_went_of_corpus
from ..lifecycle import PUBLISHED
from ..models import LANGUAGES, Corpus, Domain, License, User
from .filters import ArgumentFilter
from .permissions import AgreementAccepted, IsMember, MemberRequest
from .serializers import REFUSED, choice_field, errors

PublishedStatusField = choice_field(sorted(PUBLISHED), component_name="PublishedCorpusStatus")


# ---------------------------------------------------------------- the caller


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "role", "pseudonym", "display_name"]
        read_only_fields = fields


class Me(APIView):
    """The account the token or session belongs to."""

    permission_classes = [IsMember]

    @extend_schema(responses={200: MeSerializer, **errors(*REFUSED)})
    def get(self, request: MemberRequest) -> Response:
        return Response(MeSerializer(request.user).data)


# ---------------------------------------------------------------- statistics
# The shape of contributions.payloads.Stats, for the schema: the view sends
# the same JSON as /stats.json.


class _Sums(serializers.Serializer):
    corpora = serializers.IntegerField()
    documents = serializers.IntegerField()
    words = serializers.IntegerField()


class StatsTotalsSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    contributors = serializers.IntegerField()
    corpora = serializers.IntegerField()
    corpora_in_analysis = serializers.IntegerField()
    corpora_awaiting_review = serializers.IntegerField()
    documents = serializers.IntegerField()
    words = serializers.IntegerField()
    releases = serializers.IntegerField()


class StatsLicenseSerializer(_Sums):
    license = serializers.CharField(help_text="SPDX id.")


class StatsLicenseFamilySerializer(_Sums):
    family = serializers.CharField(help_text="`open` or `restricted` (non-commercial).")


class StatsDomainSerializer(_Sums):
    domain = serializers.CharField()


class StatsLanguageSerializer(serializers.Serializer):
    language = serializers.CharField(help_text="The code the analysis detected.")
    corpora = serializers.IntegerField()
    documents = serializers.IntegerField()


class StatsMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, in the site's time zone.")
    corpora_accepted = serializers.IntegerField()
    documents_accepted = serializers.IntegerField()
    words_accepted = serializers.IntegerField()
    members_joined = serializers.IntegerField()
    corpora_total = serializers.IntegerField()
    words_total = serializers.IntegerField()
    members_total = serializers.IntegerField()


class StatsReviewSerializer(serializers.Serializer):
    decided = serializers.IntegerField()
    approved = serializers.IntegerField()
    changes_requested = serializers.IntegerField()
    rejected = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True)
    median_seconds_to_decision = serializers.FloatField(allow_null=True)


class StatsSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Raised when a key is dropped or renamed.")
    generated_at = serializers.CharField(help_text="ISO 8601.")
    totals = StatsTotalsSerializer()
    by_license = StatsLicenseSerializer(many=True)
    by_license_family = StatsLicenseFamilySerializer(many=True)
    by_language = StatsLanguageSerializer(many=True)
    by_domain = StatsDomainSerializer(many=True)
    by_month = StatsMonthSerializer(many=True)
    review = StatsReviewSerializer()


class StatsView(APIView):
    """The public statistics, the same as /stats.json (at most a few minutes old)."""

    permission_classes = [AgreementAccepted]

    @extend_schema(responses={200: StatsSerializer, **errors(*REFUSED)})
    def get(self, request: Request) -> Response:
        return Response(stats.stats_cached())


# ---------------------------------------------------------------- catalogue


class CatalogueFilterSerializer(serializers.Serializer):
    """The catalogue page's search (contributions.forms.CatalogueForm); a bad
    value is a 400 here, where the page leaves it out."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                              help_text="Text in the title or description.")
    license = serializers.ChoiceField(choices=License.choices, required=False)
    family = serializers.ChoiceField(choices=[catalogue.OPEN, catalogue.RESTRICTED], required=False)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, help_text="A language the analysis found.")
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    period_from = serializers.IntegerField(required=False, min_value=0, max_value=3000)
    period_to = serializers.IntegerField(required=False, min_value=0, max_value=3000)
    size = serializers.ChoiceField(choices=list(catalogue.SIZES), required=False, help_text="In documents.")
    sort = serializers.ChoiceField(choices=list(catalogue.SORTS), required=False)


class CatalogueEntrySerializer(serializers.ModelSerializer):
    restricted = serializers.BooleanField(source="is_restricted", help_text="Non-commercial license.")
    credit = serializers.SerializerMethodField(help_text="Public name, or pseudonym.")
    main_languages = serializers.SerializerMethodField(help_text="Up to three, the most frequent first.")
    releases = serializers.SerializerMethodField(help_text="Versions of the public releases that carry it.")

    class Meta:
        model = Corpus
        # Only what corpora_catalogue reads: any other field is a query a row.
        fields = [
            "id", "title", "license", "restricted", "domain", "period_start", "period_end", "documents", "words",
            "submitted_at", "credit", "main_languages", "releases",
        ]
        read_only_fields = fields

    def get_credit(self, corpus: Corpus) -> str:
        return catalogue.credit_name(corpus)

    def get_main_languages(self, corpus: Corpus) -> list[str]:
        return [share.language for share in corpus.main_languages]  # type: ignore[attr-defined]

    def get_releases(self, corpus: Corpus) -> list[str]:
        return [entry.release.version for entry in corpus.public_entries]  # type: ignore[attr-defined]


class Catalogue(generics.ListAPIView):
    """Accepted corpora, newest first (or by ``sort``), as the catalogue page
    lists them."""

    permission_classes = [AgreementAccepted]
    serializer_class = CatalogueEntrySerializer
    filter_backends = [ArgumentFilter]
    filters = {
        "q": "q", "license": "license", "family": "family", "language": "language", "domain": "domain",
        "period_from": "period_from", "period_to": "period_to", "size": "size", "sort": "sort",
    }
    filter_serializer = CatalogueFilterSerializer

    def get_queryset(self, **query: Any) -> QuerySet[Corpus]:
        return catalogue.corpora_catalogue(query=catalogue.CatalogueQuery(**query))

    @extend_schema(parameters=[CatalogueFilterSerializer], responses={
        200: CatalogueEntrySerializer(many=True), **errors(400, *REFUSED, 404)})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ReportSerializer(serializers.Serializer):
    documents = serializers.IntegerField(allow_null=True)
    languages = serializers.ListField(child=serializers.DictField(), allow_null=True,
                                      help_text="`language`, `documents`, `rate`, the most frequent first.")
    length_histogram = serializers.ListField(child=serializers.DictField(), allow_null=True,
                                             help_text="`label`, `documents`, by length in characters.")
    duplicates = serializers.DictField(allow_null=True)
    quality = serializers.DictField(allow_null=True, help_text="Documents flagged, by quality flag.")
    personal_data = serializers.DictField(allow_null=True, help_text="Documents with personal data, by kind.")


class ReviewSummarySerializer(serializers.Serializer):
    approvals = serializers.IntegerField()
    last_approved_at = serializers.DateTimeField(allow_null=True)
    reviewers = serializers.ListField(child=serializers.CharField(), help_text="Public names, or pseudonyms.")


class PublicReleaseEntrySerializer(serializers.Serializer):
    release_version = serializers.CharField()
    release_date = serializers.DateTimeField(allow_null=True)
    documents = serializers.IntegerField()
    words = serializers.IntegerField()
    excluded = serializers.IntegerField(help_text="Left out by the reviewers.")
    duplicates = serializers.IntegerField()
    filtered = serializers.IntegerField(help_text="Left out by the release's filters.")
    masked = serializers.IntegerField(help_text="Documents whose personal data was replaced.")


class SampleSerializer(serializers.Serializer):
    doc_index = serializers.IntegerField()
    language = serializers.CharField()
    text = serializers.CharField(help_text="As in the training data, personal data replaced; cut short.")
    truncated = serializers.BooleanField()


class CatalogueCorpusSerializer(serializers.ModelSerializer):
    """What the corpus's public page shows: never its submitter's email."""

    languages = serializers.ListField(child=serializers.CharField(), help_text="Declared by the submitter.")
    restricted = serializers.BooleanField(source="is_restricted", help_text="Non-commercial license.")
    status = PublishedStatusField()
    # The card's reads, kept beside the corpus (``card``): reviews and
    # releases are names of the corpus's related managers.
    license_url = serializers.CharField(source="card.license_url", allow_null=True)
    credit = serializers.CharField(source="card.credit", help_text="Public name, or pseudonym.")
    report = ReportSerializer(source="card.report", allow_null=True, help_text="Of the accepted version's analysis.")
    reviews = ReviewSummarySerializer(source="card.reviews")
    releases = PublicReleaseEntrySerializer(source="card.releases", many=True,
                                            help_text="Public releases that carry it, latest first.")
    samples = SampleSerializer(source="card.samples", many=True)

    class Meta:
        model = Corpus
        fields = [
            "id", "title", "description", "languages", "license", "license_url", "restricted", "domain",
            "period_start", "period_end", "source_url", "collection_method", "web_collected", "tdm_respected",
            "rights_attested", "status", "version", "submitted_at", "documents", "words", "characters", "credit",
            "report", "reviews", "releases", "samples",
        ]
        read_only_fields = fields


class CatalogueCorpus(APIView):
    """An accepted corpus's public data, as its page (a dataset card) shows it."""

    permission_classes = [AgreementAccepted]

    @extend_schema(responses={200: CatalogueCorpusSerializer, **errors(*REFUSED, 404)})
    def get(self, request: Request, pk: int) -> Response:
        corpus = get_object_or_404(Corpus.objects.select_related("submitter"), pk=pk, status__in=PUBLISHED)
        # The reads of the page's card (contributions.views.public._data_card_context).
        corpus.card = {  # type: ignore[attr-defined]
            "license_url": catalogue.LICENSE_URLS.get(corpus.license),
            "credit": catalogue.credit_name(corpus),
            "report": catalogue.corpus_public_report(corpus=corpus),
            "reviews": catalogue.corpus_review_summary(corpus=corpus),
            "releases": text_went_of_corpus(corpus=corpus),
            "samples": catalogue.corpus_samples(corpus=corpus),
        }
        return Response(CatalogueCorpusSerializer(corpus).data)
