"""The Django admin, for maintainers. What the site's own pages and domain
functions keep consistent (statuses and their audit trail, jobs and their
files, roles) is read-only here: those pages are where it changes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import accounts
from .models import (
    AccountEvent,
    AgreementAcceptance,
    AnalysisRun,
    Corpus,
    CorpusEvent,
    Job,
    OutgoingEmail,
    Release,
    RoleChange,
    TrainingVersion,
    User,
)
from .texts import message_render


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and shown, never changed from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "display_name", "role", "is_active", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "display_name", "pseudonym"]
    # Roles and suspensions change on the site's pages, with their checks
    # (at least one active maintainer) and their audit trail.
    readonly_fields = ["pseudonym", "last_login", "date_joined", "role", "is_active"]
    exclude = ["password"]

    # Deleting goes through accounts.user_delete, like the member's own
    # deletion: the last active maintainer stays, drafts go with the account.
    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and accounts.user_deletion_refused(user=obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request: HttpRequest):
        # What goes with the account (its agreements, its audit trail) is
        # read-only in this admin, which must not stop the deletion.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        accounts.user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            try:
                accounts.user_delete(user=user)
            except ValidationError as exc:
                messages.error(request, f"{user.email}: {exc.messages[0]}")


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["user", "version", "accepted_at"]
    list_filter = ["version"]


@admin.register(RoleChange)
class RoleChangeAdmin(ReadOnlyAdmin):
    list_display = ["user", "old_role", "new_role", "changed_by", "changed_at"]


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "actor", "created_at", "reason"]
    list_filter = ["kind"]


class JobAdmin(ReadOnlyAdmin):
    list_filter = ["status"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "error_text"]

    @admin.display(description=_("Error"))
    def error_text(self, job: Job) -> str:
        # Stored as a code (contributions.texts) or as text.
        return message_render(job.error, technical=True)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(JobAdmin):
    list_display = ["subject", "to", "status", "attempt", "created_at", "finished_at"]
    search_fields = ["to", "subject"]
    # The bodies may carry one-time links.
    exclude = ["body_text", "body_html"]


class CorpusEventInline(admin.TabularInline):
    model = CorpusEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "actor", "from_status", "to_status", "comment")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ["title", "submitter_pseudonym", "status", "license", "domain", "version", "submitted_at"]
    list_filter = ["status", "license", "domain"]
    search_fields = ["title", "description", "submitter_pseudonym"]
    # The status moves only through the lifecycle, which writes the audit
    # trail; the files and the version belong to the submission.
    readonly_fields = ["submitter", "submitter_pseudonym", "status", "reason", "version",
                       "review_started_at", "created_at", "updated_at", "submitted_at"]
    exclude = ["status_reason"]
    inlines = [CorpusEventInline]

    @admin.display(description=_("Reason"))
    def reason(self, corpus: Corpus) -> str:
        # Stored as a code (contributions.texts): read in the maintainer's language.
        return message_render(corpus.status_reason, technical=True)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(JobAdmin):
    list_display = ["id", "corpus", "corpus_version", "status", "attempt", "documents_done", "created_at"]
    exclude = ["report", "shards"]


@admin.register(TrainingVersion)
class TrainingVersionAdmin(JobAdmin):
    list_display = ["id", "corpus", "corpus_version", "status", "attempt", "documents", "words", "created_at"]
    exclude = ["shards"]


@admin.register(Release)
class ReleaseAdmin(JobAdmin):
    list_display = ["version", "status", "public", "attempt", "created_by", "created_at", "finished_at"]
    exclude = ["files", "stats"]
