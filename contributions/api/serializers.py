from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import LANGUAGES, AnalysisRun, Corpus, CorpusFile
from ..submissions import METADATA_FIELDS, metadata_problems
from ..texts import message_code, message_render

CORPUS_READ_FIELDS = [
    "id", *METADATA_FIELDS, "status", "version", "created_at", "updated_at", "submitted_at",
    "documents", "words", "characters",
]


class CorpusSerializer(serializers.ModelSerializer):
    languages = serializers.ListField(child=serializers.CharField())
    # Not a URLField: the schema would say "format: uri", which "" (none given) is not.
    source_url = serializers.CharField(help_text="A URL, or empty.")

    class Meta:
        model = Corpus
        fields = CORPUS_READ_FIELDS
        read_only_fields = fields


class CorpusWriteSerializer(serializers.ModelSerializer):
    """The metadata a member gives, checked as the page's form checks it."""

    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=LANGUAGES), min_length=1, max_length=len(LANGUAGES)
    )
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True)

    class Meta:
        model = Corpus
        fields = METADATA_FIELDS
        extra_kwargs = {"description": {"required": True}}

    def validate_rights_attested(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                _("Attest that you hold the rights to this text, or that its license lets you share it."),
                code="required",
            )
        return value

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and "rights_attested" not in attrs:
            raise serializers.ValidationError({"rights_attested": [_("This field is required.")]}, code="required")
        merged = {name: getattr(self.instance, name) for name in METADATA_FIELDS} if self.instance else {}
        merged.update(attrs)
        problems = metadata_problems(merged)
        if problems:
            raise serializers.ValidationError({field: [message] for field, message in problems})
        return attrs


class CorpusFileSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")

    class Meta:
        model = CorpusFile
        fields = ["id", "name", "format", "size", "sha256", "split", "separator", "text_column", "uploaded_at"]
        read_only_fields = fields


class UploadOptionsSerializer(serializers.Serializer):
    """How the documents of a file are cut (as the page's upload form)."""

    split = serializers.ChoiceField(choices=CorpusFile.Split.choices, default=CorpusFile.Split.FILE)
    separator = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    text_column = serializers.CharField(max_length=100, required=False, allow_blank=True, default="text")


class FileUploadSerializer(UploadOptionsSerializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        min_length=1, max_length=settings.UPLOAD_MAX_FILES_PER_REQUEST,
    )


class MessageField(serializers.CharField):
    """A stored message (contributions.texts), in the caller's language."""

    def to_representation(self, value) -> str:
        return message_render(value)


class AnalysisSerializer(serializers.ModelSerializer):
    percent = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()
    error = MessageField(read_only=True, help_text="Why the analysis failed, in the caller's language.")

    class Meta:
        model = AnalysisRun
        fields = [
            "id", "corpus_version", "status", "error", "created_at", "started_at", "finished_at",
            "progress_done", "progress_total", "documents_done", "percent", "report",
        ]
        read_only_fields = fields

    def get_percent(self, run: AnalysisRun) -> int | None:
        if run.is_done:
            return 100
        if not run.progress_total:
            return None
        return min(99, run.progress_done * 100 // run.progress_total)

    def get_report(self, run: AnalysisRun) -> dict | None:
        """The report, once the analysis is done. Each problem's message is
        in the caller's language; ``code`` names it for programs."""
        if not run.is_done:
            return None
        report = dict(run.report)
        report["problems"] = [
            {**problem, "message": message_render(problem["message"]), "code": message_code(problem["message"])}
            for problem in report.get("problems") or []
        ]
        return report


class CorpusStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    analysis = AnalysisSerializer(allow_null=True)


class DocumentsQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=20)
    flag = serializers.CharField(required=False, default="", max_length=64)
    personal_data = serializers.CharField(required=False, default="", max_length=16)
    q = serializers.CharField(required=False, default="", max_length=200)


class DocumentSerializer(serializers.Serializer):
    doc_index = serializers.IntegerField()
    source = serializers.CharField(allow_null=True)  # type: ignore[assignment]  # a field, not Field.source
    line = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(help_text="The first 5,000 characters at most.")
    truncated = serializers.BooleanField()
    chars = serializers.IntegerField()
    words = serializers.IntegerField(allow_null=True)
    language = serializers.CharField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    duplicate_of = serializers.IntegerField(allow_null=True)
    personal_data = serializers.DictField(child=serializers.IntegerField(), help_text="Findings by kind.")
    findings = serializers.ListField(child=serializers.DictField())


class DocumentPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = DocumentSerializer(many=True)


def choice_field(choices: Sequence[tuple[str, Any]] | Sequence[str], *, component_name: str | None = None) -> type:
    """A ChoiceField class whose schema is its own enum: drf-spectacular names
    the enums of choice fields after the field (``status``, ``licenses``),
    and warns where one name stands for several choice sets or one set has
    several names."""
    values = [choice if isinstance(choice, str) else choice[0] for choice in choices]

    @extend_schema_field({"type": "string", "enum": values}, component_name=component_name)
    class Field(serializers.ChoiceField):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(choices=choices, **kwargs)

    return Field



class ApiErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for scripts.")
    message = serializers.CharField(help_text="In the caller's language.")
    field = serializers.CharField(allow_null=True, help_text="The input at fault, if one is.")


class ApiErrorBodySerializer(ApiErrorSerializer):
    """contributions.api.errors: the first problem, then every one."""

    # The metaclass takes declared fields off the class: Serializer.errors stays.
    errors = ApiErrorSerializer(many=True)  # type: ignore[assignment]


def errors(*statuses: int) -> dict[int, type[ApiErrorBodySerializer]]:
    """The error answers of an operation, for the schema (and for the checks
    of its answers against it)."""
    return dict.fromkeys(statuses, ApiErrorBodySerializer)


# Any operation: a token unknown or expired (401), an agreement not accepted (403).
REFUSED = (401, 403)
