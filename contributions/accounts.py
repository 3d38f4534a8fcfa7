"""Members: registration, contributor agreement, profile, roles, personal data."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lifecycle, submissions
from .models import (
    AccountEvent,
    AgreementAcceptance,
    Corpus,
    CorpusStatus,
    Notification,
    OutgoingEmail,
    Role,
    RoleChange,
    User,
)
from .notifications import notify


def user_display(user: User) -> str:
    return user.display_name or user.email


def agreement_current_version() -> str:
    return settings.CONTRIBUTOR_AGREEMENT_VERSION


def agreement_is_current(*, user: User) -> bool:
    return AgreementAcceptance.objects.filter(user=user, version=agreement_current_version()).exists()


def agreement_accept(*, user: User) -> AgreementAcceptance:
    acceptance, _created = AgreementAcceptance.objects.get_or_create(
        user=user, version=agreement_current_version()
    )
    return acceptance


@transaction.atomic
def member_register(*, user: User, display_name: str) -> User:
    """Save a member who has just signed up and accepted the agreement."""
    user.display_name = display_name.strip()
    user.email = user.email.lower()
    user.save()
    agreement_accept(user=user)
    return user


def profile_update(
    *, user: User, display_name: str, affiliation: str, public_profile: bool, review_digest: bool = True,
    language: str | None = None,
) -> User:
    user.display_name = display_name.strip()
    user.affiliation = affiliation.strip()
    user.public_profile = public_profile
    user.review_digest = review_digest
    fields = ["display_name", "affiliation", "public_profile", "review_digest"]
    if language is not None and (language == "" or language in dict(settings.LANGUAGES)):
        user.language = language
        fields.append("language")
    user.save(update_fields=fields)
    return user


def member_language_set(*, user: User, language: str) -> bool:
    """The language the site and its emails speak to ``user`` (one of the
    site's languages; anything else is ignored). True when it changed."""
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return False
    user.language = language
    user.save(update_fields=["language"])
    return True


@transaction.atomic
def role_set(*, actor: User, user: User, role: str) -> User:
    """Grant or revoke a role. Only maintainers may, and the site always keeps
    at least one maintainer."""
    if not actor.is_maintainer:
        raise PermissionDenied
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    # Lock the maintainers so that two demotions at once cannot both pass
    # the last-maintainer check.
    maintainers = active_maintainers()
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.role == role:
        return user
    if user.role == Role.MAINTAINER and maintainers == [user.pk]:
        raise ValidationError(_("The site needs at least one maintainer."))
    RoleChange.objects.create(user=user, changed_by=actor, old_role=user.role, new_role=role)
    old = user.role
    user.role = role
    user.save(update_fields=["role"])
    notify(users=[user], kind=Notification.Kind.ROLE_CHANGED, params={"role": role, "old": old})
    return user


def active_maintainers() -> list[int]:
    """The maintainers who can act (a suspended one cannot), locked so that
    two removals at once cannot both pass the last-maintainer check."""
    return list(
        User.objects.select_for_update().filter(role=Role.MAINTAINER, is_active=True).order_by("id")
        .values_list("id", flat=True)
    )


def members_with_suspension(members: QuerySet[User]) -> QuerySet[User]:
    """Members, each suspended one with ``last_suspension`` (its latest
    suspension event), in one query more for the whole page."""
    latest = AccountEvent.objects.filter(kind=AccountEvent.Kind.SUSPENDED).select_related("actor")
    return members.prefetch_related(Prefetch("account_events", queryset=latest, to_attr="suspensions"))


def user_export_data(*, user: User) -> dict[str, Any]:
    """Everything the site holds about a member, for "download my data"."""
    return {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "affiliation": user.affiliation,
            "public_profile": user.public_profile,
            "review_digest": user.review_digest,
            "role": user.role,
            "pseudonym": user.pseudonym,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("email")
        ],
        "contributor_agreements": [
            {"version": a.version, "accepted_at": a.accepted_at.isoformat()} for a in user.agreements.all()
        ],
        "role_changes": [
            {"from": c.old_role, "to": c.new_role, "changed_at": c.changed_at.isoformat()}
            for c in user.role_changes.all()
        ],
    }


def user_deletion_refused(*, user: User) -> str | None:
    """Why the account cannot be deleted, or None."""
    if user.is_maintainer and active_maintainers() in ([], [user.pk]):
        return _("You are the last maintainer: give the role to someone else first.")
    return None


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account. What the member contributed stays, published under
    their pseudonym (the contributions keep it, not the account); drafts
    never submitted go with the account, files included, and what was still
    on its way to review is withdrawn (nobody would answer the reviewers)."""
    refused = user_deletion_refused(user=user)
    if refused:
        raise ValidationError(refused)
    addresses = list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) + [user.email]
    OutgoingEmail.objects.filter(to__in={a.lower() for a in addresses}).delete()
    for corpus in Corpus.objects.filter(submitter=user):
        if corpus.status == CorpusStatus.DRAFT and corpus.submitted_at is None:
            submissions.corpus_delete_draft(corpus=corpus, actor=user)
        elif lifecycle.is_editable(corpus):
            submissions.corpus_withdraw(corpus=corpus, actor=user)
    user.delete()
