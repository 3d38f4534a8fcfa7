"""Personal API tokens: made, listed and revoked by their member on the
profile page, shown once, kept as a hash."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import ApiToken, User

# "oll_" tells a leaked key for what it is (secret scanners look for such
# prefixes); the rest is 256 random bits.
KEY_PREFIX = "oll_"
SHOWN_PREFIX = 12
# A key used again within this time does not write its last use again:
# one write a minute, not one a request.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)
TOKENS_PER_MEMBER = 50


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, user: User, name: str, days: int) -> tuple[ApiToken, str]:
    """A new token and its key, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the token a name."))
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError(
            _("A token lasts from 1 to %(days)s days.") % {"days": settings.API_TOKEN_MAX_DAYS}
        )
    if tokens_active(user=user).count() >= TOKENS_PER_MEMBER:
        raise ValidationError(
            ngettext(
                "You have %(count)s active token: revoke it first.",
                "You have %(count)s active tokens: revoke one first.",
                TOKENS_PER_MEMBER,
            ) % {"count": TOKENS_PER_MEMBER}
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:SHOWN_PREFIX], key_hash=_hash(key), created_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    return token, key


def token_revoke(*, token: ApiToken, actor: User) -> None:
    if token.user_id != actor.id:
        raise PermissionDenied
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_authenticate(*, key: str) -> ApiToken | None:
    """The active token of an active member that ``key`` is, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_active(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The member's tokens, active first, then the ones that ended."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
