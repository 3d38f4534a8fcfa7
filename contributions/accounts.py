"""Members: registration, contributor agreement, profile, roles, personal data."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AgreementAcceptance, OutgoingEmail, Role, RoleChange, User


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
    *, user: User, display_name: str, affiliation: str, public_profile: bool, review_digest: bool = True
) -> User:
    user.display_name = display_name.strip()
    user.affiliation = affiliation.strip()
    user.public_profile = public_profile
    user.review_digest = review_digest
    user.save(update_fields=["display_name", "affiliation", "public_profile", "review_digest"])
    return user


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
    maintainers = list(User.objects.select_for_update().filter(role=Role.MAINTAINER).values_list("id", flat=True))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.role == role:
        return user
    if user.role == Role.MAINTAINER and maintainers == [user.pk]:
        raise ValidationError(_("The site needs at least one maintainer."))
    RoleChange.objects.create(user=user, changed_by=actor, old_role=user.role, new_role=role)
    user.role = role
    user.save(update_fields=["role"])
    return user


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


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account. What the member contributed stays, published under
    their pseudonym (the contributions keep it, not the account)."""
    if user.is_maintainer and not User.objects.filter(role=Role.MAINTAINER).exclude(pk=user.pk).exists():
        raise ValidationError(_("You are the last maintainer: give the role to someone else first."))
    addresses = list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) + [user.email]
    OutgoingEmail.objects.filter(to__in={a.lower() for a in addresses}).delete()
    user.delete()
