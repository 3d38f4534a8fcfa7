from __future__ import annotations

from django.contrib import admin

from .models import AgreementAcceptance, OutgoingEmail, RoleChange, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "display_name", "role", "is_active", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "display_name", "pseudonym"]
    readonly_fields = ["pseudonym", "last_login", "date_joined", "role"]
    exclude = ["password"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(admin.ModelAdmin):
    list_display = ["user", "version", "accepted_at"]
    list_filter = ["version"]


@admin.register(RoleChange)
class RoleChangeAdmin(admin.ModelAdmin):
    list_display = ["user", "old_role", "new_role", "changed_by", "changed_at"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    exclude = ["body_text", "body_html"]
