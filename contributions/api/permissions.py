from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request

from ..accounts import agreement_is_current
from ..models import User


class AgreementAccepted(permissions.BasePermission):
    """A member who has not accepted the current contributor agreement
    reaches nothing but public data, as on the pages. Subclasses also ask
    for a member, or a role (the same as the pages' decorators)."""

    role = ""  # "", "member", "is_reviewer" or "is_maintainer"
    message = _("Accept the current contributor agreement on the site first (/agreement/).")
    code = "agreement_required"

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not user.is_authenticated:
            # DRF answers 401 to an anonymous caller whatever we say here.
            return not self.role
        if not agreement_is_current(user=user):
            return False
        if self.role in {"", "member"}:
            return True
        if getattr(user, self.role):
            return True
        self.message, self.code = _("Your role does not give access to this."), "permission_denied"
        return False


class IsMember(AgreementAccepted):
    role = "member"


class IsReviewer(AgreementAccepted):
    role = "is_reviewer"


class IsMaintainer(AgreementAccepted):
    role = "is_maintainer"


class MemberRequest(Request):
    """The request of a view behind ``IsMember`` or a role: its user is a
    member, never an anonymous caller (for mypy)."""

    user: User
