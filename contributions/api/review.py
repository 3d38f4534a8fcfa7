"""Review, for reviewers and maintainers: the queue and the decisions, as on
the review pages, never on the reviewer's own corpora."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import review
from ..models import LANGUAGES, Corpus, Decision, Domain, License, RejectReason
from .filters import ArgumentFilter
from .permissions import IsReviewer, MemberRequest
from .serializers import REFUSED, CorpusSerializer, errors


class QueueFilterSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, help_text="A declared language.")
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    license = serializers.ChoiceField(choices=License.choices, required=False)
    hide_claimed = serializers.BooleanField(
        required=False, help_text="Leave out the corpora another reviewer has claimed."
    )


class QueueEntrySerializer(serializers.ModelSerializer):
    languages = serializers.ListField(child=serializers.CharField())
    approvals = serializers.IntegerField(help_text="Approvals this version has had so far.")
    claimed_by = serializers.CharField(
        source="claimed_by.public_name", allow_null=True, help_text="Who said \"I am reviewing this\", while it holds."
    )

    class Meta:
        model = Corpus
        fields = ["id", "title", "version", "submitted_at", "languages", "domain", "license", "documents", "approvals",
                  "claimed_by", "claim_expires_at"]
        read_only_fields = fields

    def to_representation(self, corpus: Corpus) -> dict[str, Any]:
        data = super().to_representation(corpus)
        if not review.claim_is_active(corpus):  # an expired claim holds nothing
            data["claimed_by"] = data["claim_expires_at"] = None
        return data


class ClaimSerializer(serializers.Serializer):
    claimed_by = serializers.CharField()
    claim_expires_at = serializers.DateTimeField()


class ReviewQueue(generics.ListAPIView):
    """Corpora waiting for review, oldest first: never the caller's own."""

    permission_classes = [IsReviewer]
    serializer_class = QueueEntrySerializer
    filter_backends = [ArgumentFilter]
    filters = {"language": "language", "domain": "domain", "license": "license", "hide_claimed": "hide_claimed"}
    filter_serializer = QueueFilterSerializer

    def get_queryset(self, **filters: Any) -> QuerySet[Corpus]:
        if getattr(self, "swagger_fake_view", False):  # the schema's generation
            return Corpus.objects.none()
        return review.review_queue_listing(reviewer=self.request.user, **filters)  # type: ignore[arg-type]

    @extend_schema(parameters=[QueueFilterSerializer], responses={
        200: QueueEntrySerializer(many=True), **errors(400, *REFUSED, 404)})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class DecisionSerializer(serializers.Serializer):
    """As the review page's form (contributions.forms.DecisionForm)."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=10_000,
        help_text="Required to request changes or reject; the submitter reads it.",
    )
    reason = serializers.ChoiceField(
        choices=RejectReason.choices, required=False, allow_blank=True, default="", help_text="For a rejection."
    )


class ReviewDecisionCreate(APIView):
    """Decide on the version under review. A rejection or a request for
    changes ends the review; approval takes the number of reviewers the
    site's policy asks for (or one maintainer). The answer is the corpus,
    with the status the decision left it in."""

    permission_classes = [IsReviewer]

    @extend_schema(request=DecisionSerializer, responses={201: CorpusSerializer, **errors(400, *REFUSED, 404)})
    def post(self, request: MemberRequest, pk: int) -> Response:
        corpus = get_object_or_404(Corpus, pk=pk)
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Its own checks answer 403 on the reviewer's own corpus, 400 otherwise.
        corpus = review.review_decide(corpus=corpus, reviewer=request.user, **serializer.validated_data)
        return Response(CorpusSerializer(corpus).data, status=status.HTTP_201_CREATED)


class ReviewClaim(APIView):
    """"I am reviewing this": other reviewers see the claim in their queue
    until it expires (claiming again renews it). DELETE gives it up."""

    permission_classes = [IsReviewer]

    @extend_schema(request=None, responses={200: ClaimSerializer, **errors(400, *REFUSED, 404)})
    def post(self, request: MemberRequest, pk: int) -> Response:
        corpus = review.corpus_claim(corpus=get_object_or_404(Corpus, pk=pk), reviewer=request.user)
        return Response(ClaimSerializer({"claimed_by": request.user.public_name,
                                         "claim_expires_at": corpus.claim_expires_at}).data)

    @extend_schema(responses={204: None, **errors(*REFUSED, 404)})
    def delete(self, request: MemberRequest, pk: int) -> Response:
        review.corpus_claim_release(corpus=get_object_or_404(Corpus, pk=pk), reviewer=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
